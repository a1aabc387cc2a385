"""Checks of torchvision's on-disk data sets before torchvision reads them, shared by the tasks that read them
(gan: CIFAR-10, STL-10; classify: MNIST, Fashion-MNIST, CIFAR-10/100, SVHN).

torchvision says only "Dataset not found or corrupted"; these name the folder, every missing file and the files
whose MD5 sums do not match. ``present_only`` gives a torchvision reader class file lists whose MD5 checks only
test that the files exist, for data checked here first (or data the user chose not to verify).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DatasetError", "check_files", "data_root", "present_only"]


class DatasetError(ValueError):
    """A dataset that is missing, incomplete or not in the expected format."""


def present_only(entries: list[list[str]]) -> list[list[str | None]]:
    return [[name, None] for name, _ in entries]


def check_files(folder: Path, expected: list[tuple[str, str]], what: str, verify: bool) -> None:
    names = ", ".join(name for name, _ in expected)
    if not folder.is_dir():
        raise DatasetError(
            f"{what} not found: expected the folder {folder} with the files {names} (torchvision's on-disk "
            f"format). Pass the folder that contains {folder.name}/ as the data root, or add --download on a "
            f"machine with internet access."
        )
    missing = [name for name, _ in expected if not (folder / name).is_file()]
    if missing:
        raise DatasetError(
            f"{what} in {folder} is incomplete: missing {', '.join(missing)} (expected {names}). "
            f"Re-extract the archive or use --download."
        )
    if verify:
        from torchvision.datasets.utils import check_md5  # torchvision loads only when files are checked

        bad = [name for name, md5 in expected if not check_md5(folder / name, md5)]
        if bad:
            raise DatasetError(
                f"{what} in {folder}: {', '.join(bad)} do(es) not match torchvision's MD5 sums (corrupted or a "
                f"different version). Re-download, or pass verify_checksums=False to read them anyway."
            )


def data_root(root: Path | str | None, what: str) -> Path:
    if root is None:
        raise DatasetError(f"{what} needs a data root (--data-root): the folder that holds torchvision's files")
    return Path(root).expanduser()
