"""Job states and the unique-states bitmask (spec/04-unique.md, "Unique states").

The bit numbering is River's: states sorted by name, bit 0 (value 1) is ``available``.
Postgres stores the mask as ``bit(8)`` with ``scheduled`` as the leftmost bit.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from riverboat.errors import ValidationError


class JobState(StrEnum):
    """A job's state; each value is the label of the ``river_job_state`` Postgres enum."""

    AVAILABLE = "available"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    DISCARDED = "discarded"
    PENDING = "pending"
    RETRYABLE = "retryable"
    RUNNING = "running"
    SCHEDULED = "scheduled"


#: Every state's name, in the enum's (alphabetical) order.
JOB_STATE_NAMES: tuple[str, ...] = tuple(state.value for state in JobState)

STATE_BITS: dict[JobState, int] = {state: 1 << i for i, state in enumerate(JobState)}

_ALL_BITS = (1 << len(STATE_BITS)) - 1


def states_to_mask(states: Iterable[JobState]) -> int:
    """The bitmask with the bit of every state in ``states`` set."""
    mask = 0
    for state in states:
        mask |= STATE_BITS[JobState(state)]
    return mask


def mask_to_states(mask: int) -> list[JobState]:
    """The states whose bits are set in ``mask``, in bit order."""
    if not 0 <= mask <= _ALL_BITS:
        raise ValidationError("unique_states", "range", "must be an 8-bit mask (0 to 255)", mask)
    return [state for state, bit in STATE_BITS.items() if mask & bit]


# River's default: every state but cancelled and discarded (mask 245).
DEFAULT_UNIQUE_STATES: tuple[JobState, ...] = (
    JobState.AVAILABLE,
    JobState.COMPLETED,
    JobState.PENDING,
    JobState.RETRYABLE,
    JobState.RUNNING,
    JobState.SCHEDULED,
)

# A custom by_state must include these, or a live job could be duplicated.
REQUIRED_UNIQUE_STATES: tuple[JobState, ...] = (
    JobState.AVAILABLE,
    JobState.PENDING,
    JobState.RUNNING,
    JobState.SCHEDULED,
)
