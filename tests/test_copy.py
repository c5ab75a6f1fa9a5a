"""Words the code chooses: names as typed, singular or plural as the count says."""

import pytest

from app import copy


@pytest.mark.parametrize(
    ("brought", "left_out", "line"),
    [
        (
            [],
            ["Music"],
            "No Music today: leaving it out at random keeps it special and moves the reward onto the effort.",
        ),
        (
            [],
            ["Music", "Coffee", "Pre-workout"],
            "No Music, Coffee or Pre-workout today: leaving them out at random keeps them special and moves the "
            "reward onto the effort.",
        ),
        (["Phone"], [], "Phone comes along today. Next time the coin may say no, and that is what keeps it special."),
        (
            ["Music", "Coffee"],
            [],
            "Music and Coffee come along today. Next time the coin may say no, and that is what keeps them special.",
        ),
        (["Music"], ["iPhone"], "Music comes along, iPhone doesn't: an unpredictable mix keeps each one rewarding."),
        (
            ["Music", "Podcast"],
            ["Coffee", "Phone"],
            "Music and Podcast come along, Coffee and Phone don't: an unpredictable mix keeps each one rewarding.",
        ),
        ([], [], "Just you and the work. The effort is the reward."),
    ],
)
def test_the_why_line_names_enhancers_as_typed_with_the_right_pronoun(
    brought: list[str], left_out: list[str], line: str
) -> None:
    assert copy.why_line(brought, left_out) == line


def test_a_count_takes_the_word_it_needs() -> None:
    assert [copy.counted(n, "session") for n in (0, 1, 2, 1200)] == [
        "0 sessions",
        "1 session",
        "2 sessions",
        "1,200 sessions",
    ]
    assert copy.counted(1, "check") == "1 check" and copy.counted(3, "pleasure check") == "3 pleasure checks"
