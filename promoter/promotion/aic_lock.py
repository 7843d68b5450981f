"""AIC's promotion lock, held around a promotion or rollback and released even after a failure."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

from promoter.errors import TargetError
from promoter.targets.aic import AicClient
from promoter.untrusted import scrub


@contextlib.contextmanager
def locked(
    upper: AicClient, secrets: Sequence[str], out: Out, *, say: str | None = None
) -> Iterator[str]:
    """Hold ``upper``'s promotion lock around the body (the promotion id); unlock after it.

    The tenant is unlocked even when the body fails; an unlock that fails then is a warning
    (the body's error is the one to see), after a success it is the run's error.
    """
    promotion = lock_unlocked(upper, secrets)
    failed = False
    try:
        yield promotion
    except BaseException:
        failed = True
        raise
    finally:
        try:
            upper.unlock(promotion)
            if say:
                out(say)
        except TargetError as exc:
            if not failed:
                raise
            out(f"warning: {exc}")


def lock_unlocked(upper: AicClient, secrets: Sequence[str]) -> str:
    """Lock ``upper`` for a promotion after checking nobody else holds it; the promotion id."""
    result = upper.lock_state().get("result")
    if result != "unlocked":
        raise TargetError(
            f"check the promotion lock on {upper.label}: it is "
            f"{scrub(str(result), secrets, limit=20)}, not unlocked",
            hint="another promotion is under way; wait for it, or unlock it in the tenant",
        )
    return upper.lock()


Out = Callable[[str], None]
