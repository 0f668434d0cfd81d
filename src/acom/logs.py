"""Send a job's diagnostics to its log file, keeping the one-line reason for failure on the console."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import traceback
from collections.abc import Iterator


@contextlib.contextmanager
def log_to_file(path: str | os.PathLike, *, level: int = logging.INFO) -> Iterator[logging.Logger]:
    """Redirect stderr and the ``acom`` logger to ``path`` for the duration of the block.

    An exception is written to the log with its traceback and, as one line naming the log, to the
    original stderr, then re-raised so the job fails.
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    console = sys.stderr
    with open(path, "w", buffering=1) as fh:
        sys.stderr = fh
        handler = logging.StreamHandler(fh)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger = logging.getLogger("acom")
        logger.addHandler(handler)
        logger.setLevel(level)
        try:
            yield logger
        except BaseException as err:
            traceback.print_exc(file=fh)
            print(f"acom: {type(err).__name__}: {err}\n(full log: {path})", file=console)
            raise
        finally:
            logger.removeHandler(handler)
            sys.stderr = console
