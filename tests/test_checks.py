import torch

from aae_utils.checks import answer_is_correct, check_answer


def test_answer_is_correct_with_tolerances():
    assert answer_is_correct(0.5001, 0.5)
    assert not answer_is_correct(3, 4)
    assert not answer_is_correct(..., 4) and not answer_is_correct(None, 4)
    assert answer_is_correct(torch.ones(2), torch.ones(2))
    assert not answer_is_correct(torch.ones(3), torch.ones(2))
    assert not answer_is_correct("seven", 7)
    assert answer_is_correct([1, 2], [1, 2])


def test_check_answer_prints_verdicts(capsys):
    assert check_answer("a", 0.5001, 0.5) is None
    assert "[a] correct." in capsys.readouterr().out
    check_answer("b", 3, 4, hint="count again")
    assert "Hint: count again" in capsys.readouterr().out
    check_answer("c", ..., 4)
    assert "not answered yet" in capsys.readouterr().out
