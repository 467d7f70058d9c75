"""A video file for Chromium's fake camera that shows a QR code (segno + Pillow).

Chromium reads it with `--use-fake-device-for-media-stream
--use-file-for-fake-video-capture=<file>`; Y4M (raw YUV 4:2:0 frames behind a text
header) is the format it reads everywhere, MJPEG only in some builds, so Y4M it is.
"""

from __future__ import annotations

import io
from pathlib import Path

import segno
from PIL import Image

WIDTH, HEIGHT = 640, 480


def qr_frame(text: str) -> Image.Image:
    """A camera's view of a QR code: black on white, centred, with a quiet margin."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=10, border=4)
    qr = Image.open(io.BytesIO(buffer.getvalue())).convert("L")
    side = min(WIDTH, HEIGHT) - 40
    qr = qr.resize((side, side), Image.NEAREST)
    frame = Image.new("L", (WIDTH, HEIGHT), 255)
    frame.paste(qr, ((WIDTH - side) // 2, (HEIGHT - side) // 2))
    return frame.convert("RGB")


def write_y4m(path: Path, frame: Image.Image, frames: int = 10, fps: int = 10) -> Path:
    y, cb, cr = frame.convert("YCbCr").split()
    half = (frame.width // 2, frame.height // 2)
    planes = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{frame.width} H{frame.height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + planes)
    return path
