"""``mmemo recipes --help`` warns that a recipe file is code (its _component_ paths run)."""

from __future__ import annotations

import pytest

from mmemo.cli import main


@pytest.mark.parametrize("argv", [["recipes", "--help"], ["recipes", "validate", "--help"]])
def test_help_says_a_recipe_is_code(argv, capsys):
    with pytest.raises(SystemExit):
        main(argv)
    text = " ".join(capsys.readouterr().out.split())
    assert "recipe file is code" in text and "_component_" in text


def test_readme_says_a_recipe_is_code():
    from tests.conftest import REPO_ROOT

    assert "**A recipe file is code.**" in (REPO_ROOT / "README.md").read_text()
