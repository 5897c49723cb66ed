"""Learning-rate schedules.

The authors' constant-then-linear-decay: docs/reference/cyclegan.md#optimiser-and-schedule.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mst")
class ConstantThenLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Constant learning rate for ``epoch_step`` epochs, then linear decay to 0 at epoch ``epochs``.

    The rule of the authors' TF1 code (``model.py``), applied per epoch: with
    ``e = step // steps_per_epoch`` (0-based) the rate is ``base`` for ``e < epoch_step`` and
    ``base * (epochs - e) / (epochs - epoch_step)`` for ``e >= epoch_step``; so 2e-4 at ``e = 10``
    and 2.2e-6 in the last epoch (``e = 99``) of a 100-epoch run. It reaches 0 only after the last
    epoch (and stays there). With ``epochs <= epoch_step`` the rate is constant. The step is the
    optimizer's iteration count, so the schedule resumes correctly from a checkpoint. Unlike in the
    authors' TF2 port (item 4 of docs/reference/cyclegan.md#tf2-port-bugs) this schedule is
    actually given to the optimizer.

    Args:
        initial_learning_rate: The base rate (2e-4 in the paper).
        steps_per_epoch: Optimizer steps in one epoch.
        epochs: Total number of epochs ``E`` (100 in the code).
        epoch_step: First epoch of the decay (10 in the code).

    Example:
    >>> schedule = ConstantThenLinearDecay(2e-4, steps_per_epoch=10, epochs=100, epoch_step=10)
    >>> [round(float(schedule(s)), 10) for s in (0, 99, 100, 110, 990, 1000)]
    [0.0002, 0.0002, 0.0002, 0.0001977778, 2.2222e-06, 0.0]
    """

    def __init__(self, initial_learning_rate: float, steps_per_epoch: int, epochs: int, epoch_step: int = 10, name: str = "constant_then_linear_decay"):
        if steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}")
        if epochs < 1 or epoch_step < 0:
            raise ValueError(f"need epochs >= 1 and epoch_step >= 0, got {epochs}, {epoch_step}")
        self.initial_learning_rate = float(initial_learning_rate)
        self.steps_per_epoch = int(steps_per_epoch)
        self.epochs = int(epochs)
        self.epoch_step = int(epoch_step)
        self.name = name

    def __call__(self, step):
        epoch = ops.floor_divide(ops.cast(step, "int64"), self.steps_per_epoch)
        epoch = ops.cast(epoch, "float32")
        base = ops.convert_to_tensor(self.initial_learning_rate, "float32")
        if self.epochs <= self.epoch_step:
            return base
        factor = (self.epochs - epoch) / float(self.epochs - self.epoch_step)
        factor = ops.clip(factor, 0.0, 1.0)
        return ops.where(epoch < self.epoch_step, base, base * factor)

    def learning_rate_at_epoch(self, epoch: int) -> float:
        """The rate used throughout epoch ``epoch`` (0-based), as a Python float."""
        return float(self(int(epoch) * self.steps_per_epoch))

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "steps_per_epoch": self.steps_per_epoch,
            "epochs": self.epochs,
            "epoch_step": self.epoch_step,
            "name": self.name,
        }


def adam_with_decay(
    learning_rate: float = 2e-4,
    beta_1: float = 0.5,
    *,
    steps_per_epoch: int,
    epochs: int,
    epoch_step: int = 10,
    name: str | None = None,
) -> keras.optimizers.Adam:
    """The authors' optimizer: Adam(lr, β1=0.5, β2=0.999, ε=1e-8) on :class:`ConstantThenLinearDecay`.

    ε is TensorFlow 1's default 1e-8 (Keras' default is 1e-7).

    Example:
    >>> opt = adam_with_decay(steps_per_epoch=5, epochs=20)
    >>> round(float(opt.learning_rate), 6)
    0.0002
    """
    schedule = ConstantThenLinearDecay(learning_rate, steps_per_epoch=steps_per_epoch, epochs=epochs, epoch_step=epoch_step)
    kwargs = {} if name is None else {"name": name}
    return keras.optimizers.Adam(learning_rate=schedule, beta_1=beta_1, beta_2=0.999, epsilon=1e-8, **kwargs)
