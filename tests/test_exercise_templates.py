"""An untouched exercise template (it raises NotImplementedError) scores 0 with no misconception."""
import pytest

from derive.teach.exercises import EXERCISES, check


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_template_gets_no_misconception(name):
    def backward(*args):
        raise NotImplementedError(name)

    grade = check(name, backward)
    assert grade.score == 0
    assert grade.misconceptions == []
    assert "not attempted" in grade.text()
