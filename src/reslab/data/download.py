"""Fetching the official dataset archives over https, checked against their published digests."""

from __future__ import annotations

import hashlib
import http.client
import os
import tarfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from reslab.errors import DataError
from reslab.utils.io import atomic_open
from reslab.utils.progress import ProgressBar

_CHUNK = 1 << 20
_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Archive:
    """One file of a dataset, where it is published, and its digest ("md5:..." or "sha256:...")."""

    url: str
    filename: str
    checksum: str
    mirrors: tuple[str, ...] = ()
    """Further https URLs tried in order when ``url`` cannot be reached."""


def _idx_archives(base: str, checksums: dict[str, str], mirror: str | None = None) -> list[Archive]:
    return [
        Archive(
            url=base + filename,
            filename=filename,
            checksum=f"md5:{md5}",
            mirrors=(mirror + filename,) if mirror else (),
        )
        for filename, md5 in checksums.items()
    ]


_CIFAR_BASE = "https://www.cs.toronto.edu/~kriz/"

ARCHIVES: dict[str, list[Archive]] = {
    "cifar10": [
        Archive(
            _CIFAR_BASE + "cifar-10-python.tar.gz",
            "cifar-10-python.tar.gz",
            "md5:c58f30108f718f92721af3b95e74349a",
        )
    ],
    "cifar100": [
        Archive(
            _CIFAR_BASE + "cifar-100-python.tar.gz",
            "cifar-100-python.tar.gz",
            "md5:eb9058c3a382ffc7106e4002c42a8d85",
        )
    ],
    "mnist": _idx_archives(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        {
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
    ),
    # The dataset's own S3 page is a website endpoint, which serves plain http only, so the
    # https copy in the authors' GitHub repository comes first.
    "fashion_mnist": _idx_archives(
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        {
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        },
        mirror="https://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ),
}


def dataset_dir(name: str, root: str | os.PathLike) -> Path:
    """The folder that ``download`` fills for ``name``: ``root/name``."""
    return Path(root) / name


def download(name: str, root: str | os.PathLike, *, progress: bool = True) -> Path:
    """Fetch and verify every archive of ``name`` into ``root/name``; return that folder.

    Files already there with the right digest are kept. Archives are not extracted: the
    loaders read them as they are.
    """
    if name not in ARCHIVES:
        raise DataError(
            f"{name!r} has nothing to download; downloadable datasets: {', '.join(ARCHIVES)}"
        )
    dest = dataset_dir(name, root)
    dest.mkdir(parents=True, exist_ok=True)
    for archive in ARCHIVES[name]:
        target = dest / archive.filename
        if target.is_file() and verify_file(target, archive.checksum):
            continue
        _fetch(archive, target, progress)
    return dest


def verify_file(path: str | os.PathLike, checksum: str) -> bool:
    """Whether the file's digest equals ``checksum`` ("md5:<hex>", "sha256:<hex>" or bare hex)."""
    algorithm, expected = _parse_checksum(checksum)
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest() == expected


def safe_extract(archive: str | os.PathLike, dest: str | os.PathLike) -> None:
    """Extract a tar archive into ``dest``, refusing members that would land outside it.

    Names are checked here first (absolute paths, "..", links leaving the tree, devices), so
    the check holds on Pythons without tarfile's extraction filters; where those exist the
    "data" filter is applied as well.
    """
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                _check_member(member, archive, dest.resolve())
            if hasattr(tarfile, "data_filter"):
                tar.extractall(dest, members=members, filter="data")
            else:  # pragma: no cover - Pythons before the extraction filters
                tar.extractall(dest, members=members)
    except DataError:
        raise
    except (tarfile.TarError, OSError, EOFError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(":")
        raise DataError(f"cannot extract {archive}: {reason}; re-download it") from None


def _check_member(member: tarfile.TarInfo, archive: Path, root: Path) -> None:
    def inside(path: str, base: Path) -> bool:
        if os.path.isabs(path) or path.startswith(("/", "\\")):
            return False
        return (base / path).resolve().is_relative_to(root)

    refuse = None
    if not inside(member.name, root):
        refuse = "its path leaves the destination"
    elif member.issym() and not inside(member.linkname, (root / member.name).parent):
        refuse = f"it links to {member.linkname!r} outside the destination"
    elif member.islnk() and not inside(member.linkname, root):
        refuse = f"it hard-links to {member.linkname!r} outside the destination"
    elif member.ischr() or member.isblk() or member.isfifo():
        refuse = "it is a device or fifo"
    if refuse:
        raise DataError(
            f"refusing to extract {archive}: member {member.name!r} is unsafe ({refuse})"
        )


def _parse_checksum(checksum: str) -> tuple[str, str]:
    algorithm, _, value = checksum.rpartition(":")
    if not algorithm:
        algorithm = {32: "md5", 64: "sha256"}.get(len(value), "")
    if algorithm not in ("md5", "sha256"):
        raise DataError(f"unsupported checksum {checksum!r}: use 'md5:<hex>' or 'sha256:<hex>'")
    return algorithm, value.lower()


def _open_url(url: str, timeout: float) -> IO[bytes]:
    """Open ``url`` for reading; the one place that touches the network (tests replace it)."""
    return urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 - scheme checked by caller


def _fetch(archive: Archive, target: Path, progress: bool) -> None:
    urls = (archive.url, *archive.mirrors)
    for url in urls:
        if urllib.parse.urlsplit(url).scheme != "https":
            raise DataError(f"refusing to download {url}: only https URLs are allowed")
    failure = ""
    for url in urls:
        try:
            _stream(url, archive, target, progress)
            return
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", None) or exc
            failure = " ".join(str(reason).split()) or type(exc).__name__
    host = urllib.parse.urlsplit(archive.url).hostname
    raise DataError(
        f"could not reach {host} ({failure}): download {archive.url} by hand "
        f"and put it in {target.parent}"
    )


def _stream(url: str, archive: Archive, target: Path, progress: bool) -> None:
    """Write ``url`` to ``target`` through a temp file, keeping it only if its digest matches."""
    algorithm, expected = _parse_checksum(archive.checksum)
    digest = hashlib.new(algorithm)
    with _open_url(url, _TIMEOUT_S) as response:
        final_url = getattr(response, "url", None) or url
        if urllib.parse.urlsplit(final_url).scheme != "https":
            raise DataError(f"refusing {url}: it redirected to the non-https {final_url}")
        length = getattr(response, "headers", {}).get("Content-Length")
        total = int(length) if length and str(length).isdigit() else None
        with (
            atomic_open(target, "wb") as out,
            ProgressBar(total, f"download {archive.filename}", enabled=progress) as bar,
        ):
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                bar.update(len(chunk))
            actual = digest.hexdigest()
            if actual != expected:  # raising inside atomic_open discards the temp file
                raise DataError(
                    f"{archive.filename} from {url} has {algorithm} {actual}, expected "
                    f"{expected}; put a correct copy in {target.parent} by hand"
                )
