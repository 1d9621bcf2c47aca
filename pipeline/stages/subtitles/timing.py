"""Cue times on the clip's frame grid: long enough to read, never far from the speech.

Each cue is lengthened into the silence that follows (then precedes) it until it can
be read; a cue still short borrows time a neighbour can spare; gaps are set to the
minimum or closed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import replace

from pipeline.stages.subtitles.display import cue_start, reading_chars, speech_span
from pipeline.stages.subtitles.rules import EPSILON, CueRules
from pipeline.types import Cue


def fit_timing(
    cues: list[Cue], rules: CueRules, demand: Callable[[Cue], float] = reading_chars
) -> list[Cue]:
    """Frame-accurate times that can be read and leave clean gaps.

    Each cue starts on its speech and is lengthened into the following silence
    (at most `max_linger` past its speech), then into the preceding one (at
    most `max_lead`), until it is on screen for its minimum duration and the
    reading time of `demand(cue)` characters. A cue still short of its own
    reading time takes time a neighbour can spare. Then gaps shorter than the
    minimum are opened to it and gaps up to `close_gap_frames` are closed to it.
    """
    cues = [replace(cue) for cue in sorted(cues, key=cue_start)]
    for cue in cues:
        cue.start, cue.end = snap(speech_span(cue)[0], rules), snap_up(speech_span(cue)[1], rules)
        # speech of nearly the longest duration must not grow past it by snapping outward
        cue.end = min(cue.end, round(cue.start + _frames_down(rules.max_duration, rules), 3))
    for index, cue in enumerate(cues):
        previous = cues[index - 1] if index > 0 else None
        following = cues[index + 1] if index + 1 < len(cues) else None
        _lengthen(cue, previous, following, rules, demand)
    for index in range(len(cues)):  # a cue's own text comes before its translation's
        _borrow(cues, index, rules, reading_chars)
    for index in range(len(cues)):
        _push_neighbours(cues, index, rules, demand)
    return separate(cues, rules)


def _lengthen(
    cue: Cue,
    previous: Cue | None,
    following: Cue | None,
    rules: CueRules,
    demand: Callable[[Cue], float],
) -> None:
    speech_start, speech_end = speech_span(cue)
    needed = _needed_capped(cue, rules, demand)
    latest = speech_end + rules.max_linger
    if following is not None:
        latest = min(latest, following.start - rules.min_gap)
    end = snap_up(cue.start + needed, rules)
    if end - cue.start > rules.max_duration + EPSILON:  # rounded up a frame too far
        end = snap(cue.start + needed, rules)
    cue.end = max(cue.end, min(end, snap(latest, rules)))
    earliest = speech_start - rules.max_lead
    if previous is not None:
        earliest = max(earliest, previous.end + rules.min_gap)
    earliest = max(earliest, 0.0)  # nothing is shown before the clip starts
    if cue.end - cue.start < needed - EPSILON:
        start = snap(cue.end - needed, rules)
        if cue.end - start > rules.max_duration + EPSILON:  # rounded a frame too early
            start = snap_up(cue.end - needed, rules)
        cue.start = min(cue.start, max(start, snap_up(earliest, rules)))


def _borrow(cues: list[Cue], index: int, rules: CueRules, demand: Callable[[Cue], float]) -> None:
    """A cue still short of its time takes what a neighbour can give.

    The previous cue may end earlier (and start earlier, into its own lead) and the
    next may start later (and end later, into its own linger), each keeping the
    time it needs itself.
    """
    cue = cues[index]
    short = _needed_capped(cue, rules, demand) - (cue.end - cue.start)
    if short > EPSILON and index > 0:
        previous = cues[index - 1]
        earliest = speech_span(previous)[0] - rules.max_lead
        if index > 1:
            earliest = max(earliest, cues[index - 2].end + rules.min_gap)
        earliest = min(previous.start, earliest)
        end = min(previous.end, cue.start - rules.min_gap)
        give = end - earliest - _needed_capped(previous, rules, demand)
        own_lead = cue.start - (speech_span(cue)[0] - rules.max_lead)
        take = min(_frames_up(short, rules), _frames_down(min(give, own_lead), rules))
        if take > 0:
            cue.start = round(cue.start - take, 3)
            previous.end = round(min(previous.end, cue.start - rules.min_gap), 3)
            start = snap(previous.end - _needed_capped(previous, rules, demand), rules)
            previous.start = round(max(earliest, min(previous.start, start)), 3)
            # snapping to the nearest frame must not make it longer than allowed
            previous.start = max(
                previous.start, _frames_up(previous.end - rules.max_duration, rules)
            )
            short -= take
    if short > EPSILON and index + 1 < len(cues):
        following = cues[index + 1]
        latest = speech_span(following)[1] + rules.max_linger
        if index + 2 < len(cues):
            latest = min(latest, cues[index + 2].start - rules.min_gap)
        latest = max(following.end, latest)
        start = max(following.start, cue.end + rules.min_gap)
        give = latest - start - _needed_capped(following, rules, demand)
        own_linger = speech_span(cue)[1] + rules.max_linger - cue.end
        take = min(_frames_up(short, rules), _frames_down(min(give, own_linger), rules))
        if take > 0:
            cue.end = round(cue.end + take, 3)
            following.start = round(max(following.start, cue.end + rules.min_gap), 3)
            end = snap_up(following.start + _needed_capped(following, rules, demand), rules)
            following.end = round(min(latest, max(following.end, end)), 3)
            following.end = min(
                following.end, _frames_down(following.start + rules.max_duration, rules)
            )


def _push_neighbours(
    cues: list[Cue], index: int, rules: CueRules, demand: Callable[[Cue], float]
) -> None:
    """A cue still short of its time moves the cues before it earlier and those after it
    later, as far as a chain of them can go.

    Each moved cue keeps the time it needs, its lead and linger, and the middle of its
    own speech on screen; the short cue starts no earlier than its own lead allows and ends
    no later than its own linger. (Borrowing asks only the next cue on each side: in a
    run of closely packed sentences that was not enough for long English.)
    """
    cue = cues[index]
    short = _frames_up(_needed_capped(cue, rules, demand) - (cue.end - cue.start), rules)
    if short <= EPSILON:
        return
    speech_start, speech_end = speech_span(cue)
    if index > 0:
        previous = cues[index - 1]
        lead_room = cue.start - snap_up(max(0.0, speech_start - rules.max_lead), rules)
        free = cue.start - rules.min_gap - previous.end
        earlier = _frames_down(
            min(short, lead_room, free + _room_before(cues, index - 1, rules, demand)), rules
        )
        if earlier > 0:
            cue.start = round(cue.start - earlier, 3)
            _end_by(cues, index - 1, cue.start - rules.min_gap, rules, demand)
            short -= earlier
    if short > EPSILON and index + 1 < len(cues):
        following = cues[index + 1]
        linger_room = snap(speech_end + rules.max_linger, rules) - cue.end
        free = following.start - rules.min_gap - cue.end
        later = _frames_down(
            min(short, linger_room, free + _room_after(cues, index + 1, rules, demand)), rules
        )
        if later > 0:
            cue.end = round(cue.end + later, 3)
            _start_by(cues, index + 1, cue.end + rules.min_gap, rules, demand)


def _room_before(
    cues: list[Cue], index: int, rules: CueRules, demand: Callable[[Cue], float]
) -> float:
    """How much earlier cue `index` can end, moving the cues before it as needed."""
    room = 0.0
    for position in range(index + 1):
        cue = cues[position]
        speech_start = speech_span(cue)[0]
        spare = max(0.0, cue.end - cue.start - _need_frames(cue, rules, demand))
        free = cue.start - snap_up(max(0.0, speech_start - rules.max_lead), rules)
        if position > 0:
            free = min(free, cue.start - rules.min_gap - cues[position - 1].end + room)
        # still shown at the middle of its speech: Whisper's word times can be early, so
        # a cue ending just after its first word's time could end before the voice starts
        in_view = cue.end - _middle(cue)
        room = max(0.0, min(spare + max(0.0, free), in_view))
    return room


def _room_after(
    cues: list[Cue], index: int, rules: CueRules, demand: Callable[[Cue], float]
) -> float:
    """How much later cue `index` can start, moving the cues after it as needed."""
    room = 0.0
    for position in range(len(cues) - 1, index - 1, -1):
        cue = cues[position]
        speech_end = speech_span(cue)[1]
        spare = max(0.0, cue.end - cue.start - _need_frames(cue, rules, demand))
        free = snap(speech_end + rules.max_linger, rules) - cue.end
        if position + 1 < len(cues):
            free = min(free, cues[position + 1].start - rules.min_gap - cue.end + room)
        in_view = _middle(cue) - cue.start
        room = max(0.0, min(spare + max(0.0, free), in_view))
    return room


def _middle(cue: Cue) -> float:
    return sum(speech_span(cue)) / 2


def _end_by(
    cues: list[Cue], index: int, end: float, rules: CueRules, demand: Callable[[Cue], float]
) -> None:
    """Cue `index` ends by `end`: shortened to its need first (a cue already short keeps
    its length), then moved earlier with the cues before it."""
    while index >= 0 and cues[index].end > end + EPSILON:
        cue = cues[index]
        keep = min(cue.end - cue.start, _need_frames(cue, rules, demand))
        cue.end = round(end, 3)
        cue.start = min(cue.start, round(end - keep, 3))
        end = cue.start - rules.min_gap
        index -= 1


def _start_by(
    cues: list[Cue], index: int, start: float, rules: CueRules, demand: Callable[[Cue], float]
) -> None:
    """Cue `index` starts at `start` or later: shortened to its need first (a cue already
    short keeps its length), then moved later with the cues after it."""
    while index < len(cues) and cues[index].start < start - EPSILON:
        cue = cues[index]
        keep = min(cue.end - cue.start, _need_frames(cue, rules, demand))
        cue.start = round(start, 3)
        cue.end = max(cue.end, round(start + keep, 3))
        start = cue.end + rules.min_gap
        index += 1


def _need_frames(cue: Cue, rules: CueRules, demand: Callable[[Cue], float]) -> float:
    return _frames_up(_needed_capped(cue, rules, demand), rules)


def _needed_capped(cue: Cue, rules: CueRules, demand: Callable[[Cue], float]) -> float:
    return min(needed(cue, rules, demand), rules.max_duration)


# Durations in whole frames, not rounded to the millisecond as `snap` rounds times:
# at 29.97 fps that rounding can make a borrowed span a frame too long.
def _frames_down(seconds: float, rules: CueRules) -> float:
    return math.floor(seconds * rules.frame_rate + EPSILON) / rules.frame_rate


def _frames_up(seconds: float, rules: CueRules) -> float:
    return math.ceil(seconds * rules.frame_rate - EPSILON) / rules.frame_rate


def separate(cues: list[Cue], rules: CueRules) -> list[Cue]:
    """At least the minimum gap between cues; short gaps closed to it."""
    for cue, following in itertools.pairwise(cues):
        gap = following.start - cue.end
        if gap < rules.min_gap - EPSILON:
            cue.end = round(max(cue.start + rules.frame, following.start - rules.min_gap), 3)
            if following.start - cue.end < rules.min_gap - EPSILON:  # speech fully overlapped
                following.start = round(cue.end + rules.min_gap, 3)
        elif gap <= rules.close_gap + EPSILON:
            closed = following.start - rules.min_gap
            if closed - speech_span(cue)[1] <= rules.max_linger and closed - cue.start <= (
                rules.max_duration
            ):
                cue.end = round(closed, 3)
            elif (
                speech_span(following)[0] - cue.end - rules.min_gap <= rules.max_lead
                and following.end - (cue.end + rules.min_gap) <= rules.max_duration + EPSILON
            ):
                following.start = round(cue.end + rules.min_gap, 3)
    return cues


def needed(cue: Cue, rules: CueRules, demand: Callable[[Cue], float] = reading_chars) -> float:
    return max(rules.min_duration, demand(cue) / rules.reading_speed)


def snap(seconds: float, rules: CueRules) -> float:
    return round(math.floor(seconds * rules.frame_rate + EPSILON) / rules.frame_rate, 3)


def snap_up(seconds: float, rules: CueRules) -> float:
    return round(math.ceil(seconds * rules.frame_rate - EPSILON) / rules.frame_rate, 3)
