"""The converter's run-time requirements are pinned, so every Berth builds the same converter venv."""
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def requirement_lines(name: str) -> list[str]:
    lines = (HERE / name).read_text().splitlines()
    return [l.strip() for l in lines if l.strip() and not l.startswith("#") and not l.startswith("-r")]


def test_runtime_requirements_are_pinned():
    lines = requirement_lines("requirements.txt")
    assert lines, "requirements.txt lists nothing"
    for line in lines:
        assert "==" in line, f"unpinned requirement: {line}"


def test_runtime_requirements_have_no_torch():
    names = [l.split("==")[0].lower() for l in requirement_lines("requirements.txt")]
    assert "torch" not in names, "the converter reads safetensors with numpy; torch is for tests only"
