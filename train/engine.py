"""One epoch of training and one pass of evaluation, on tensors held in memory."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from model.preprocess import normalize
from train.augment import AffineRange, random_affine

EVAL_BATCH_SIZE = 1000


@dataclass(frozen=True)
class Evaluation:
    loss: float
    accuracy: float
    probabilities: torch.Tensor  # (N, 10) softmax outputs
    predictions: torch.Tensor  # (N,)


def train_epoch(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None,
    batch_size: int,
    generator: torch.Generator,
    augment: AffineRange | None,
    description: str,
    max_steps: int | None = None,
) -> float:
    """Train for one shuffled pass over ``images`` (raw [0, 1] intensities); return mean loss."""
    model.train()
    order = torch.randperm(len(images), generator=generator)
    batches = order.split(batch_size)[:max_steps]
    total, seen = 0.0, 0
    progress = tqdm(batches, desc=description, unit="batch", leave=True, dynamic_ncols=True)
    for index in progress:
        batch = images[index]
        if augment is not None:
            batch = random_affine(batch, augment, generator)
        loss = F.cross_entropy(model(normalize(batch)), labels[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total += loss.item() * len(index)
        seen += len(index)
        progress.set_postfix(loss=f"{total / seen:.4f}", refresh=False)
    return total / seen


@torch.no_grad()
def evaluate(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> Evaluation:
    """Score already-normalized ``inputs``: mean cross-entropy, accuracy, per-image softmax."""
    model.eval()
    logits = torch.cat([model(chunk) for chunk in inputs.split(EVAL_BATCH_SIZE)])
    probabilities = logits.softmax(dim=1)
    predictions = logits.argmax(dim=1)
    return Evaluation(
        loss=F.cross_entropy(logits, labels).item(),
        accuracy=(predictions == labels).float().mean().item(),
        probabilities=probabilities,
        predictions=predictions,
    )
