"""Words the code chooses for people to read: reflection prompts, the reason given with a verdict, suggestions."""

from collections.abc import Sequence

PROMPTS = (
    "Where did it get hard, and what did you do right then?",
    "What friction did you lean into today?",
    "Which moment asked the most of you, and how did you answer it?",
    "What was good about the effort itself, apart from the result?",
    "When did you want to stop, and what kept you going?",
    "What did the hardest minute feel like in your body?",
    "What did you notice when you stopped fighting the discomfort?",
    "Which part of the work would you choose again, even if it is hard?",
    "What did you tell yourself when it got tough?",
    "What small thing did you do well today?",
    "How did the effort change from the start to the end?",
    "If the effort itself was the reward today, what exactly was rewarding?",
    "What did doing it this way teach you about the work?",
    "Where did you hold back, and where did you push?",
)

SUGGESTED_ENHANCERS = (
    ("Music", "media", 2),
    ("Coffee", "drink", 2),
    ("Pre-workout", "substance", 3),
    ("Energy drink", "drink", 3),
    ("Podcast", "media", 1),
    ("Phone", "social", 2),
)


def joined(names: Sequence[str], last: str = "and") -> str:
    """Names as a sentence lists them, as typed: "Music", "Music and Coffee", "Music, Coffee or Phone"."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" {last} " + names[-1]


def counted(count: int, word: str, plural: str | None = None) -> str:
    """A number with its word, singular or plural: "1 session", "2 sessions"."""
    return f"{count:,} {word if count == 1 else plural or word + 's'}"


def why_line(brought: Sequence[str], left_out: Sequence[str]) -> str:
    """Why the verdict is good for you, whatever it is."""
    if not brought and not left_out:  # a flip from before a habit needed an enhancer
        return "Just you and the work. The effort is the reward."
    if not brought:
        it = "it" if len(left_out) == 1 else "them"
        return (
            f"No {joined(left_out, 'or')} today: leaving {it} out at random keeps {it} special "
            "and moves the reward onto the effort."
        )
    comes = "comes" if len(brought) == 1 else "come"
    if not left_out:
        it = "it" if len(brought) == 1 else "them"
        return (
            f"{joined(brought)} {comes} along today. Next time the coin may say no, and that is what keeps {it} "
            "special."
        )
    does_not = "doesn't" if len(left_out) == 1 else "don't"
    return (
        f"{joined(brought)} {comes} along, {joined(left_out)} {does_not}: an unpredictable mix keeps each one "
        "rewarding."
    )


# A reminder is a cue at the moment the member chose, never a nag: it names the habit and the time, nothing about
# days gone by.
def reminder_title(emoji: str, habit: str) -> str:
    return f"{emoji} {habit}"


def reminder_body(habit: str, at: str) -> str:
    return f"{habit} at {at}: tap to flip."


TEST_TITLE = "🪙 Coinflip"
TEST_BODY = "A test: your reminders will arrive like this."
