"""Reading many samples' files: one request per pack file they share, the same bytes as one by
one."""

from __future__ import annotations

from app.core.storage import LocalBlobStore
from app.models import Sample
from app.services.samples import read_blob, read_blobs


class CountingStore(LocalBlobStore):
    def __init__(self, root):
        super().__init__(root)
        self.reads: list[tuple[str, int, int]] = []

    def get_range(self, key: str, offset: int, length: int) -> bytes:
        self.reads.append((key, offset, length))
        return super().get_range(key, offset, length)


def test_one_read_per_pack_and_the_same_bytes(tmp_path):
    store = CountingStore(tmp_path)
    bodies = [b"alpha", b"bravo!", b"", b"charlie", b"delta"]
    store.put_new("p/1.pack", b"".join(bodies))
    store.put_new("p/2.json", b"{}")
    samples, offset = [], 0
    for i, body in enumerate(bodies):
        samples.append(
            Sample(id=i + 1, blob_key="p/1.pack", blob_offset=offset, blob_bytes=len(body))
        )
        offset += len(body)
    samples.append(Sample(id=9, blob_key="p/2.json", blob_offset=0, blob_bytes=2))
    chosen = [samples[1], samples[3], samples[2], samples[5]]  # a subset, out of order
    got = read_blobs(store, chosen)
    assert got == {2: b"bravo!", 4: b"charlie", 3: b"", 9: b"{}"}
    assert sorted(store.reads) == [("p/1.pack", 5, 13), ("p/2.json", 0, 2)]
    store.reads.clear()
    assert read_blobs(store, samples, max_span_bytes=10) == {
        s.id: read_blob(store, s) for s in samples
    }
    assert store.reads.count(("p/1.pack", 0, 5)) == 2  # too wide a span: read one by one
