"""The embedded broker: kombu's filesystem transport, made safe for several producers and consumers.

Kombu's own transport writes a message file in place (create, then write) and claims one with
`shutil.move`; a consumer that lists the folder between the create and the write reads an empty
file, raises `JSONDecodeError` from the worker's event loop, and the worker exits. Here:

- a producer writes the message under a hidden temporary name in the same folder and renames it
  into place, so a `.msg` file is always complete;
- a consumer claims a message by renaming it into the claim folder (same filesystem: atomic, so
  exactly one consumer gets each message), reads it there and deletes it;
- a message that cannot be decoded is moved aside into the `bad` folder and logged, and the
  consumer goes on with the next one;
- the bindings a process has declared are kept per control folder (kombu keeps one set per
  process, so a second folder's bindings were never written and its messages were dropped), and
  they route a message even when the folder's table file has gone.

The broker URL stays `filesystem://`; `workers.celery_app` selects this transport for it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from pathlib import Path

from kombu.transport import filesystem
from kombu.transport.virtual import base as virtual_base
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

log = logging.getLogger("tinyforge.broker")

TMP_PREFIX = ".incoming-"


def message_name(queue: str) -> str:
    """`<ns time>_<uuid>.<queue>.msg`: sorts by sending time (zero-padded), unique across
    processes."""
    return f"{time.time_ns():020d}_{uuid.uuid4().hex}.{queue}.msg"


def is_message_for(filename: str, queue: str) -> bool:
    return not filename.startswith(".") and filename.partition(".")[2] == f"{queue}.msg"


class Channel(filesystem.Channel):
    """Atomic puts, exclusive claims, bad messages moved aside."""

    # kombu's two bases disagree on `_put` and `_get` (filesystem.Channel renames `message` to
    # `payload` and drops AbstractChannel's `timeout`): these keep filesystem.Channel's signatures,
    # which no signature can reconcile with both, so mypy's override check is silenced for them.
    def _put(self, queue: str, payload: dict, **kwargs: object) -> None:  # type: ignore[override]
        folder = self.data_folder_out
        name = message_name(queue)
        tmp = os.path.join(folder, TMP_PREFIX + name)
        try:
            with open(tmp, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(tmp, os.path.join(folder, name))
        except OSError as exc:
            _unlink_quietly(tmp)
            raise virtual_base.ChannelError(f"cannot add message {name!r} to {folder}") from exc

    def _get(self, queue: str) -> dict:  # type: ignore[override]
        folder = self.data_folder_in
        claim_folder = Path(self.processed_folder)
        for filename in sorted(os.listdir(folder)):
            if not is_message_for(filename, queue):
                continue
            claimed = claim_folder / filename
            try:
                os.rename(os.path.join(folder, filename), claimed)
            except FileNotFoundError:
                continue  # another consumer claimed it first
            try:
                payload = claimed.read_bytes()
            except OSError as exc:
                log.error("broker: cannot read claimed message %s (%s); skipped", claimed, exc)
                continue
            try:
                message = loads(bytes_to_str(payload))
                if not isinstance(message, dict):
                    raise ValueError(f"a message is a JSON object, not {type(message).__name__}")
            except Exception as exc:
                self._set_aside(claimed, filename, exc)
                continue
            if not self.store_processed:
                _unlink_quietly(str(claimed))
            return message
        raise virtual_base.Empty()

    def _set_aside(self, claimed: Path, filename: str, exc: Exception) -> None:
        bad = Path(self.bad_folder)
        bad.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(claimed, bad / filename)
            where = bad / filename
        except OSError:
            where = claimed
        log.error(
            "broker: message %s on %s is not a valid message (%s: %s); moved aside to %s",
            filename,
            self.data_folder_in,
            type(exc).__name__,
            exc,
            where,
        )

    def _size(self, queue: str) -> int:
        return sum(is_message_for(f, queue) for f in os.listdir(self.data_folder_in))

    def _purge(self, queue: str) -> int:
        count = 0
        for filename in os.listdir(self.data_folder_in):
            if is_message_for(filename, queue):
                with contextlib.suppress(FileNotFoundError):  # or consumed meanwhile
                    os.remove(os.path.join(self.data_folder_in, filename))
                    count += 1
        return count

    def get_table(self, exchange: str) -> list:
        table = super().get_table(exchange)
        if table or self._exchange_file(exchange).exists():
            return table
        return [
            filesystem.exchange_queue_t(key.routing_key, "", key.queue)
            for key in self.state.bindings
            if key.exchange == exchange
        ]

    @property
    def bad_folder(self) -> str:
        return self.transport_options.get("bad_folder") or os.path.join(
            self.processed_folder, "bad"
        )


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


class Transport(filesystem.Transport):
    Channel = Channel
    _states: dict[str, virtual_base.BrokerState] = {}

    def __init__(self, client, **kwargs: object) -> None:
        super().__init__(client, **kwargs)
        folder = os.path.abspath((client.transport_options or {}).get("control_folder", "control"))
        self.state = self._states.setdefault(folder, virtual_base.BrokerState())
