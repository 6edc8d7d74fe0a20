"""Folder training data stays uint8 until the device: the torchvision JPEG path decodes as PIL
does, odd files keep PIL's behaviour, and the device-side normaliser matches the float path."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from reslab.data import IMAGENET_MEAN, IMAGENET_STD, BadImageWarning, ImageFolder, load_image
from reslab.data.folder import decode_image_file
from reslab.data.transforms import DeviceNormalize, eval_transform, imagenet_train_transform
from reslab.errors import DataError


def _photo(width: int = 40, height: int = 30) -> Image.Image:
    """A smooth image (JPEG decoders agree closely on it, unlike on noise)."""
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 // width, y * 255 // height, (x + y) % 256], -1).astype(np.uint8)
    return Image.fromarray(rgb)


def _as_tensor(image: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.array(image)).permute(2, 0, 1)


@pytest.mark.parametrize("mode", ["RGB", "L", "CMYK"])
def test_jpegs_decode_as_pil_decodes_them(tmp_path, mode):
    path = tmp_path / "a.jpg"
    _photo().convert(mode).save(path, quality=95)
    ours = decode_image_file(path)
    assert ours.dtype == torch.uint8 and ours.shape == (3, 30, 40)
    diff = (ours.int() - _as_tensor(load_image(path)).int()).abs()
    assert diff.float().mean() < 1.0 and diff.max() <= 8  # two libjpeg builds, same image


def test_exif_rotation_and_png_follow_load_image(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees to display
    _photo(40, 30).save(tmp_path / "rotated.jpg", exif=exif, quality=95)
    assert decode_image_file(tmp_path / "rotated.jpg").shape == (3, 40, 30)
    assert load_image(tmp_path / "rotated.jpg").size == (30, 40)
    rgba = Image.new("RGBA", (4, 4), (0, 0, 255, 255))
    rgba.putpixel((0, 0), (0, 0, 0, 0))
    rgba.save(tmp_path / "alpha.png")
    assert torch.equal(
        decode_image_file(tmp_path / "alpha.png"), _as_tensor(load_image(tmp_path / "alpha.png"))
    )


def test_bad_jpegs_fail_as_in_pil(tmp_path):
    buffer = io.BytesIO()
    _photo().save(buffer, "JPEG")
    (tmp_path / "truncated.jpg").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    (tmp_path / "empty.jpg").write_bytes(b"")
    for name in ("truncated.jpg", "empty.jpg"):
        with pytest.raises(DataError, match=name):
            decode_image_file(tmp_path / name)
    _photo().save(tmp_path / "big.jpg")
    with pytest.raises(DataError, match="more than the limit of 100"):
        decode_image_file(tmp_path / "big.jpg", max_pixels=100)


def test_uint8_folder_skips_bad_files(tmp_path):
    (tmp_path / "a").mkdir()
    _photo().save(tmp_path / "a" / "0.jpg")
    (tmp_path / "a" / "1.jpg").write_bytes(b"not a jpeg")
    folder = ImageFolder(tmp_path, imagenet_train_transform(16, normalise=False), decode="uint8")
    with pytest.warns(BadImageWarning, match="1.jpg"):
        x, label = folder[1]
    assert x.dtype == torch.uint8 and x.shape == (3, 16, 16) and label == 0
    with pytest.raises(ValueError, match="decode"):
        ImageFolder(tmp_path, decode="float")  # type: ignore[arg-type]


@pytest.mark.parametrize("scale_aug", [False, True])
def test_uint8_then_device_normalise_is_the_float_pipeline(scale_aug):
    image = _photo(70, 50)
    uint8 = imagenet_train_transform(32, scale_aug=scale_aug, normalise=False)
    floats = imagenet_train_transform(32, scale_aug=scale_aug)
    torch.manual_seed(3)
    a = uint8(_as_tensor(image))
    torch.manual_seed(3)
    b = floats(image)
    assert a.dtype == torch.uint8 and type(a) is torch.Tensor
    normalise = DeviceNormalize(IMAGENET_MEAN, IMAGENET_STD, channels_last=True)
    batch = normalise(torch.stack([a, a]))
    assert batch.dtype == torch.float32 and batch.is_contiguous(memory_format=torch.channels_last)
    # same crop and flip; resizing uint8 rounds where the float path does not
    assert (batch[0] - b).abs().max() < 2.5 / 255 / min(IMAGENET_STD)


def test_device_normalise_matches_eval_transform_and_refuses_floats():
    image = Image.new("RGB", (40, 30), (128, 64, 0))
    expected = eval_transform(16, 20)(image)
    got = DeviceNormalize(IMAGENET_MEAN, IMAGENET_STD)(
        eval_transform(16, 20, normalise=False)(image)
    )
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
    crops = torch.zeros(2, 10, 3, 4, 4, dtype=torch.uint8)  # a batch of 10-crops
    assert DeviceNormalize(IMAGENET_MEAN, IMAGENET_STD)(crops).shape == crops.shape
    with pytest.raises(TypeError, match="uint8"):
        DeviceNormalize(IMAGENET_MEAN, IMAGENET_STD)(expected)


def test_decoding_says_nothing_about_torchvision_deprecations(tmp_path):
    _photo().save(tmp_path / "a.jpg")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        decode_image_file(tmp_path / "a.jpg")


def test_batched_decode_on_a_device_matches_the_per_file_decode(tmp_path):
    from reslab.data.folder import decode_jpegs_on

    _photo().save(tmp_path / "a.jpg")
    _photo().convert("CMYK").save(tmp_path / "c.jpg")
    blobs = [(tmp_path / "a.jpg").read_bytes(), (tmp_path / "c.jpg").read_bytes(), b"junk"]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    a, cmyk, junk = decode_jpegs_on(blobs, device)
    assert cmyk is None and junk is None  # left to decode_image_file
    assert a is not None and a.device.type == device and a.dtype == torch.uint8
    diff = (a.cpu().int() - decode_image_file(tmp_path / "a.jpg").int()).abs()
    assert diff.float().mean() < 1.0  # nvJPEG and libjpeg-turbo agree closely


@pytest.mark.parametrize("progressive", [False, True])
@pytest.mark.parametrize("subsampling", [0, 2])
@pytest.mark.parametrize("mode", ["RGB", "L", "CMYK"])
def test_the_marker_walk_reads_the_frame_as_pil_does(mode, subsampling, progressive):
    """Which files take the torchvision decoder is read from the JPEG markers (no decoder is
    opened per image); it must agree with PIL's header on size and mode, EXIF or not."""
    from reslab.data.folder import _is_plain_jpeg, _jpeg_frame

    rng = np.random.default_rng(0)
    for exif in (False, True):
        image = Image.fromarray(rng.integers(0, 255, (37, 53, 3), dtype=np.uint8)).convert(mode)
        buf = io.BytesIO()
        extra = {}
        if exif:
            tags = Image.Exif()
            tags[0x0112] = 6  # orientation: rotated
            extra["exif"] = tags.tobytes()
        image.save(
            buf, "JPEG", quality=80, progressive=progressive, subsampling=subsampling, **extra
        )
        data = buf.getvalue()
        with Image.open(io.BytesIO(data)) as header:
            assert _jpeg_frame(data)[1:] == (*header.size[::-1], len(header.getbands()))
            assert _is_plain_jpeg(data, 10**8) == (header.mode in ("RGB", "L"))
        assert not _is_plain_jpeg(data[: len(data) // 2], 10**8)  # truncated
        assert not _is_plain_jpeg(data, 37 * 53 - 1)  # over the pixel limit
        assert _jpeg_frame(data[:2] + b"\xff\xda" + data[2:]) is None  # a scan before the frame


def _decoded_photo(tmp_path, width: int = 90, height: int = 70) -> torch.Tensor:
    _photo(width, height).save(tmp_path / "p.jpg", quality=90)
    return decode_image_file(tmp_path / "p.jpg")  # pixels stored (H, W, C), as decoded


def test_the_channels_last_crop_is_torchvisions_crop(tmp_path):
    """Same random draws, same pixels as v2.RandomResizedCrop, whatever the input's memory."""
    from torchvision import tv_tensors
    from torchvision.transforms import v2

    from reslab.data.transforms import RandomResizedCrop

    decoded = _decoded_photo(tmp_path)
    assert decoded.permute(1, 2, 0).is_contiguous()
    for image in (decoded, decoded.contiguous(), tv_tensors.Image(decoded)):
        for seed in range(8):
            torch.manual_seed(seed)
            ours = RandomResizedCrop(24, antialias=True)(image)
            torch.manual_seed(seed)
            theirs = v2.RandomResizedCrop(24, antialias=True)(image)
            assert type(ours) is type(theirs) and ours.shape == (3, 24, 24)
            torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
    pil = _photo(90, 70)
    torch.manual_seed(0)
    ours = RandomResizedCrop(24)(pil)
    torch.manual_seed(0)
    assert np.array_equal(np.array(ours), np.array(v2.RandomResizedCrop(24)(pil)))


def test_collated_batches_are_channels_last_with_default_collates_values(tmp_path):
    from torch.utils.data import default_collate

    from reslab.data.transforms import collate_channels_last

    train = imagenet_train_transform(24, normalise=False)
    decoded = _decoded_photo(tmp_path)
    torch.manual_seed(0)
    samples = [(train(decoded), label) for label in (3, 1, 4)]
    images, labels = collate_channels_last(samples)
    expected_images, expected_labels = default_collate(samples)
    assert images.shape == (3, 3, 24, 24) and images.dtype == torch.uint8
    assert images.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(images, expected_images) and torch.equal(labels, expected_labels)
    # 10-crop samples and anything else collate as torch's default_collate does
    crops = [(torch.zeros(10, 3, 4, 4, dtype=torch.uint8), 0)] * 2
    assert collate_channels_last(crops)[0].shape == (2, 10, 3, 4, 4)
    mixed = [
        (torch.zeros(3, 4, 4, dtype=torch.uint8), 0),
        (torch.zeros(3, 5, 4, dtype=torch.uint8), 1),
    ]
    with pytest.raises(RuntimeError):
        collate_channels_last(mixed)  # default_collate's own error for unequal shapes


def test_a_worker_collates_into_shared_memory_what_the_main_process_collates(tmp_path):
    from reslab.data.transforms import collate_channels_last

    for i in range(6):
        (tmp_path / f"c{i % 2}").mkdir(exist_ok=True)
        _photo(50 + i, 40).save(tmp_path / f"c{i % 2}" / f"{i}.jpg", quality=90)
    ds = ImageFolder(tmp_path, eval_transform(16, 20, normalise=False), decode="uint8")
    batches = []
    for workers in (0, 1):
        loader = torch.utils.data.DataLoader(
            ds, batch_size=3, num_workers=workers, collate_fn=collate_channels_last
        )
        batches.append(list(loader))
    for (x0, y0), (x1, y1) in zip(*batches, strict=True):
        assert x1.is_contiguous(memory_format=torch.channels_last) and x1.shape == (3, 3, 16, 16)
        assert torch.equal(x0, x1) and torch.equal(y0, y1)
    assert not batches[0][0][0].is_shared() and batches[1][0][0].is_shared()


def test_an_evaluation_folder_skips_a_bad_file_and_its_batches_leave_it_out(tmp_path):
    from reslab.data.transforms import collate_channels_last

    (tmp_path / "a").mkdir()
    for i in range(3):
        _photo(30 + i, 20).save(tmp_path / "a" / f"{i}.jpg")
    (tmp_path / "a" / "1.jpg").write_text("not an image")
    tf = eval_transform(8, 10, normalise=False)
    ds = ImageFolder(tmp_path, tf, decode="uint8", bad="skip")
    with pytest.warns(BadImageWarning, match="1.jpg"):
        samples = [ds[i] for i in range(3)]
    assert samples[1] is None and samples[0] is not None and samples[2] is not None
    images, labels = collate_channels_last(samples)
    assert images.shape == (2, 3, 8, 8) and labels.tolist() == [0, 0]
    assert collate_channels_last([None, None]) is None
    with pytest.raises(ValueError, match="bad"):
        ImageFolder(tmp_path, bad="drop")  # type: ignore[arg-type]
