"""Words the code chooses for people to read: reflection prompts, the reason given with a verdict, suggestions."""

from collections.abc import Callable, Sequence
from datetime import time

from babel.lists import format_list

from app.i18n import N_, clock, current, gettext, locale, ngettext

# Translators: a prompt above the note of a reflection, asked after a session of a habit (a workout, practice,
# study). The effort itself is the reward: the prompts ask about the effort, never about results or guilt.
PROMPTS = (
    N_("Where did it get hard, and what did you do right then?"),
    N_("What friction did you lean into today?"),
    N_("Which moment asked the most of you, and how did you answer it?"),
    N_("What was good about the effort itself, apart from the result?"),
    N_("When did you want to stop, and what kept you going?"),
    N_("What did the hardest minute feel like in your body?"),
    N_("What did you notice when you stopped fighting the discomfort?"),
    N_("Which part of the work would you choose again, even if it is hard?"),
    N_("What did you tell yourself when it got tough?"),
    N_("What small thing did you do well today?"),
    N_("How did the effort change from the start to the end?"),
    N_("If the effort itself was the reward today, what exactly was rewarding?"),
    N_("What did doing it this way teach you about the work?"),
    N_("Where did you hold back, and where did you push?"),
)
# Stored in English with each flip (app/flips.py) and translated where shown, so an old flip follows the language.

# Translators: names of enhancers offered in one tap; the tapped one is saved under the name in your language.
SUGGESTED_ENHANCERS = (
    (N_("Music"), "media", 2),
    (N_("Coffee"), "drink", 2),
    (N_("Pre-workout"), "substance", 3),
    (N_("Energy drink"), "drink", 3),
    (N_("Podcast"), "media", 1),
    (N_("Phone"), "social", 2),
)


def joined(names: Sequence[str], last: str = "and") -> str:
    """Names as a sentence lists them, as typed, in the page's language: "Music, Coffee and Phone" ("… or …")."""
    return format_list(list(names), style="or" if last == "or" else "standard", locale=locale(current()))


COUNTS: dict[str, Callable[[int], str]] = {
    "session": lambda n: ngettext("%(num)s session", "%(num)s sessions", n),
    "check": lambda n: ngettext("%(num)s check", "%(num)s checks", n),
    "flip": lambda n: ngettext("%(num)s flip", "%(num)s flips", n),
    "habit": lambda n: ngettext("%(num)s habit", "%(num)s habits", n),
    "enhancer": lambda n: ngettext("%(num)s enhancer", "%(num)s enhancers", n),
    "reflection": lambda n: ngettext("%(num)s reflection", "%(num)s reflections", n),
    "pleasure check": lambda n: ngettext("%(num)s pleasure check", "%(num)s pleasure checks", n),
    "API token": lambda n: ngettext("%(num)s API token", "%(num)s API tokens", n),
}


def counted(count: int, word: str) -> str:
    """A number with its word, singular or plural as the language has it: "1 session", "1,200 sessions"."""
    return COUNTS[word](count)


def why_line(brought: Sequence[str], left_out: Sequence[str]) -> str:
    """Why the verdict is good for you, whatever it is."""
    if not brought and not left_out:  # a flip from before a habit needed an enhancer
        return gettext("Just you and the work. The effort is the reward.")
    if not brought:
        # Translators: %(names)s lists the enhancers the coin left out, joined with "or" ("Music, Coffee or Phone").
        return ngettext(
            "No %(names)s today: leaving it out at random keeps it special and moves the reward onto the effort.",
            "No %(names)s today: leaving them out at random keeps them special and moves the reward onto the effort.",
            len(left_out),
            names=joined(left_out, "or"),
        )
    if not left_out:
        # Translators: %(names)s lists the enhancers the coin allowed ("Music and Coffee").
        return ngettext(
            "%(names)s comes along today. Next time the coin may say no, and that is what keeps it special.",
            "%(names)s come along today. Next time the coin may say no, and that is what keeps them special.",
            len(brought),
            names=joined(brought),
        )
    # Translators: %(brought)s are the enhancers the coin allowed, %(left_out)s those it left out; the four
    # sentences differ only in how many each list has (one, or more).
    sentences = {
        (True, True): N_(
            "%(brought)s comes along, %(left_out)s doesn't: an unpredictable mix keeps each one rewarding."
        ),
        (True, False): N_(
            "%(brought)s comes along, %(left_out)s don't: an unpredictable mix keeps each one rewarding."
        ),
        (False, True): N_(
            "%(brought)s come along, %(left_out)s doesn't: an unpredictable mix keeps each one rewarding."
        ),
        (False, False): N_(
            "%(brought)s come along, %(left_out)s don't: an unpredictable mix keeps each one rewarding."
        ),
    }
    sentence = sentences[len(brought) == 1, len(left_out) == 1]
    return gettext(sentence, brought=joined(brought), left_out=joined(left_out))


# A reminder is a cue at the moment the member chose, never a nag: it names the habit and the time, nothing about
# days gone by.
def reminder_title(emoji: str, habit: str) -> str:
    return f"{emoji} {habit}"


def reminder_body(habit: str, at: str) -> str:
    """The notification's words, in the language under way ("Gym at 18:00: tap to flip."); `at` is "18:00"."""
    # Translators: a reminder's notification, at the time the member picked: the habit's name and that time.
    return gettext("%(habit)s at %(time)s: tap to flip.", habit=habit, time=clock(time.fromisoformat(at)))


TEST_TITLE = "🪙 Coinflip"
# Translators: the notification "Send a test" sends.
TEST_BODY = N_("A test: your reminders will arrive like this.")
