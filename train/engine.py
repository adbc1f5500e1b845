"""One epoch of training and one pass of evaluation, on tensors held in memory."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel
from tqdm import tqdm

from model.preprocess import normalize
from train.augment import Augmentation, augment
from train.typed import mix_in

EVAL_BATCH_SIZE = 1000


@dataclass(frozen=True)
class OutlierExposure:
    """Images that are not digits (train/outliers.py), ``per_batch`` of them beside each batch of
    digits, their loss (cross-entropy to the uniform distribution) weighted by ``weight``."""

    pool: torch.Tensor  # (M, 1, 28, 28) in [0, 1]
    per_batch: int
    weight: float

    def loss(self, model: nn.Module, augmentation: Augmentation | None, generator: torch.Generator) -> torch.Tensor:
        picks = torch.randint(len(self.pool), (self.per_batch,), generator=generator)
        batch = self.pool[picks]
        if augmentation is not None:
            batch = augment(batch, augmentation, generator)
        return self.weight * uniform_cross_entropy(model(normalize(batch)))


def uniform_cross_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy from the uniform distribution over the classes to the softmax of ``logits``."""
    return -logits.log_softmax(dim=1).mean()


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
    augmentation: Augmentation | None,
    description: str,
    max_steps: int | None = None,
    typed: tuple[torch.Tensor, torch.Tensor] | None = None,
    typed_share: float = 0.0,
    average: AveragedModel | None = None,
    outliers: OutlierExposure | None = None,
    repeats: int = 1,
) -> float:
    """Train for one shuffled pass over ``images`` (raw [0, 1] intensities); return mean loss.

    With ``typed`` (images and labels), about ``typed_share`` of each batch is replaced by typed digits.
    ``average``, if given, follows the weights after every step (an exponential moving average).
    ``outliers``, if given, adds its loss on a batch of non-digits to every step's. With ``repeats``
    above 1 each batch holds every image that many times, each copy augmented on its own (batch
    augmentation, Hoffer et al. 2019): more of the augmentation seen per epoch, in as many steps.
    """
    model.train()
    order = torch.randperm(len(images), generator=generator)
    batches = order.split(batch_size)[:max_steps]
    total, seen = 0.0, 0
    progress = tqdm(batches, desc=description, unit="batch", leave=True, dynamic_ncols=True)
    for index in progress:
        batch, targets = images[index].repeat(repeats, 1, 1, 1), labels[index].repeat(repeats)
        if typed is not None:
            batch, targets = mix_in(batch, targets, typed, typed_share, generator)
        if augmentation is not None:
            batch = augment(batch, augmentation, generator)
        loss = F.cross_entropy(model(normalize(batch)), targets)
        if outliers is not None:
            loss = loss + outliers.loss(model, augmentation, generator)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if average is not None:
            average.update_parameters(model)
        if scheduler is not None:
            scheduler.step()
        total += loss.item() * len(index)
        seen += len(index)
        progress.set_postfix(loss=f"{total / seen:.4f}", refresh=False)
    return total / seen


@torch.no_grad()
def logits_of(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """The model's ``(N, 10)`` logits for already-normalized ``inputs``, in eval mode."""
    model.eval()
    return torch.cat([model(chunk) for chunk in inputs.split(EVAL_BATCH_SIZE)])


def evaluate(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> Evaluation:
    """Score already-normalized ``inputs``: mean cross-entropy, accuracy, per-image softmax."""
    logits = logits_of(model, inputs)
    probabilities = logits.softmax(dim=1)
    predictions = logits.argmax(dim=1)
    return Evaluation(
        loss=F.cross_entropy(logits, labels).item(),
        accuracy=(predictions == labels).float().mean().item(),
        probabilities=probabilities,
        predictions=predictions,
    )
