"""The data contract shared by every dataset, variant and loader.

A dataset is parsed into a :class:`Split` of three lists of :class:`Sample` (torchreid's
``(path, pid, camid)`` contract, with the extra fields this paper needs: the resolution ``r``
of Sec. 3, the high-resolution source image that is the target of the SR loss, and an
optional exact foreground mask).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}


class LayoutError(FileNotFoundError):
    """A dataset root is missing or does not have the expected official layout."""

    def __init__(self, name: str, path: Path | str, expected: str, detail: str = "") -> None:
        msg = f"{name}: no usable dataset at {path}: {detail + '; ' if detail else ''}expected {expected}"
        super().__init__(msg)
        self.name, self.path, self.expected = name, str(path), expected


class ImageError(OSError):
    """An image file that cannot be read (empty, truncated, not an image); the message names
    the file and what was expected."""

    def __init__(self, path: Path | str, error: object) -> None:
        super().__init__(
            f"cannot read image {path}: {error}; expected a complete JPEG, PNG or BMP file"
        )
        self.path, self.error = str(path), str(error)

    def __reduce__(self):  # rebuilt from (path, error) when raised in a worker process
        return ImageError, (self.path, self.error)


@dataclass(frozen=True)
class Sample:
    """One image: ``path`` to read, identity ``pid``, 0-based camera ``camid``.

    ``r`` is the resolution of Sec. 3 (width / width_max of the dataset; 1.0 for an original
    image of full width), ``source`` the high-resolution image this one was degraded from
    (None: the image is its own source), ``mask`` an exact foreground mask of the source
    image (8-bit PNG, 255 = person) where the dataset provides one.
    """

    path: str
    pid: int
    camid: int
    r: float = 1.0
    source: str | None = None
    mask: str | None = None

    @property
    def hr_path(self) -> str:
        """The image that is the ground truth I^h of Eq. 4 and 5 for this sample."""
        return self.source or self.path


@dataclass
class Split:
    """Train / query / gallery lists of a dataset (or variant) for one trial.

    ``protocol`` names the evaluation protocol of :func:`lib.eval.metrics.evaluate`: ``market``
    (same identity and camera removed from the gallery) or ``single_shot`` (one gallery
    image per identity drawn at random, repeated over draws). ``trials`` is the number of
    seeded identity splits the dataset defines (1 for a fixed split).
    """

    name: str
    train: list[Sample]
    query: list[Sample]
    gallery: list[Sample]
    protocol: str = "market"
    trial: int = 0
    trials: int = 1
    meta: dict = field(default_factory=dict)

    @property
    def num_train_pids(self) -> int:
        return len({s.pid for s in self.train})

    def subsets(self) -> dict[str, list[Sample]]:
        return {"train": self.train, "query": self.query, "gallery": self.gallery}

    def summary(self) -> dict[str, int | str]:
        """Counts of identities, images and cameras per subset (for tables)."""
        row: dict[str, int | str] = {"dataset": self.name, "protocol": self.protocol}
        for subset, samples in self.subsets().items():
            row[f"{subset}_ids"] = len({s.pid for s in samples})
            row[f"{subset}_images"] = len(samples)
            row[f"{subset}_cams"] = len({s.camid for s in samples})
        return row


def relabel(samples: list[Sample]) -> list[Sample]:
    """Map the identities of ``samples`` to 0..N-1 in the order of their original ids."""
    mapping = {pid: i for i, pid in enumerate(sorted({s.pid for s in samples}))}
    return [replace(s, pid=mapping[s.pid]) for s in samples]


def replace_path(sample: Sample) -> Sample:
    """The sample's high-resolution source as a sample of its own (r = 1)."""
    return replace(sample, path=sample.hr_path, source=None, r=1.0)
