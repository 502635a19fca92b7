"""Cues: the words of a clause that change what it means, found by rule and named by tag.

A sentence embedding puts "pick the ball before the one I say" next to "pick the ball I say": the words
that make the difference are few, short and easy to overlook. This module finds them. `cues(game, clause)`
returns {tag: [the words that carried it]} for one normalised clause; each convention says which tags it
explains (`Convention.accepts`) and which it needs (`Convention.requires`), and the parser adopts a reading
only when its convention explains every tag of the clause (parser.py).

The patterns run in order over the clause, and each match is blanked before the next pattern runs, so a
phrase is read once: "one more than" is UP, and its "one" is not read again as the number 1; "after I say
it" is a time, not "the number after". Tags:

- both games: TIME (a time clause, "after I say it": carries no meaning of its own), N0..N5 (a number
  word or digit left after the phrases that use numbers), RESTRICT ("only when", "unless"), EXCEPT
  ("except", "other than", "different"), VAGUE (a comparison or arithmetic no convention defines:
  "higher" with no "than", "double", "random", "opposite", "left"), JARGON (Hanabi terms with no
  convention here: finesse, bluff, prompt, tempo, ...).
- Say-Select: SELECT and SAY (neutral: what any Say-Select clause is about), UP / DOWN (one more / one less than the said number), WRAP_UP / WRAP_DOWN ("after 5 comes
  1"), PREV (my previous selection: "last", "before", "previous"), LATER (a leftover "after"), REPEAT,
  SAME, EVEN, ODD, ORDER (1, 2, 3 in order), QUIT, CONTINUE (every turn, until the end), NOW, ONCE.
- Hanabi: COLOR / COLOR_NAME / RANK (what a hint is about), HINT, PLAY, PLAYABLE, DISCARD, KEEP, OLD (the
  oldest card, the chop), NEW (the newest card), FIRST (before anything else), OFTEN, SURE (known, certain),
  BLIND (a blind or random play, a bomb), CRIT (critical, last copy), FIVE, ONES, NOW, POSITION.

- Added with the third blind set: ORDINAL ("third", "4th"; no convention explains it), COND_SAY ("when I say
  ...": only the conventions that depend on what is said explain it), EX_UP / EX_DOWN / EX_SAME / EX_WRAP_UP /
  EX_WRAP_DOWN (a worked example, "if I say 2 you go 3"), WRAP ("with wraparound"), NOHINT (Hanabi, "if I give
  you no hint"), CEASE ("stop" in "stop picking my number", neutral: the parser reads it as a negation).
- Added with the fourth blind set: FREQ (a frequency no convention defines: "every other turn", "twice a game"),
  POSITION in both games ("to the right of", "next to", the frame "to the WORD of"), NEXT (Say-Select: a bare
  "next one", which select-next reads only beside a reference to the said number), ONLY (Hanabi: "only give
  hints ..."), and NOW for "as soon as the game starts", "in the first turn".

Tags that only set the scene are `NEUTRAL`: they are reported but never need explaining.
"""

from __future__ import annotations

import functools
import re

NEUTRAL = frozenset({"TIME", "ANY", "SELECT", "SAY", "CEASE"})
NUMBER_WORDS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}

_ONE = r"(?:one|1|a)"
_REF = (r"(?:the (?:one|number|ball|value)|(?:my|your partner s|alice s) (?:number|call|ball|pick|choice)|mine|"
        r"what(?:ever)? (?:i|you|alice|your partner)|that one|the one|of my number|me)")
_WHO = r"(?:i|you|we|alice|bob|my partner|your partner|they|he|she)"

_N = r"(?:[0-5]|zero|one|two|three|four|five)"
_ORDINAL = ("ORDINAL", r"\b(?:second|third|fourth|fifth|sixth|last \w+ turns?|[0-9]+(?:st|nd|rd|th)|nth)\b")

# A frequency or a spacing no convention defines ("every other turn", "every second round", "once in a while",
# "twice a game"): a reason to ask, never to read "every" as "always".
_FREQ = ("FREQ", r"\bevery (?:other(?! (?:case|cases|situation|situations|circumstances?)\b)|second|third|fourth|fifth|few|couple of|[2-9]|two|three|four|five)\b(?: (?:turns?|rounds?|times?|moves?))?|"
                 r"\bonce (?:every|in a while|per|a)\b|\b(?:twice|three times|[0-9]+ times) (?:a|per|every|each)\b|"
                 r"\b(?:sometimes|occasionally|now and then|from time to time|every now and again|half the time|alternate (?:turns|rounds))\b|"
                 # "only on the even turns": even and odd turns are a frequency, not the even and odd balls
                 r"\b(?:even|odd)(?: numbered)? (?:turns?|rounds?|moves?|times?|goes)\b")
# A position relative to something ("the card to the right of the one I hint", "the ball next to it", "the one left
# of mine"): the frame "to/on the WORD of" is a position whatever WORD is (a typo like "write" included).
_POSITION = ("POSITION", r"\bto the (?!(?:end|start|beginning|rest|number|colou?r|rank|value|count|best)\b)\w+ (?:side )?of\b|"
                         r"\bon the (?:left|right|\w+ side) of\b|\bnext to\b|\b(?:left|right)(?:most)? of\b|"
                         r"\b(?:beside|adjacent\w*|neighbou?r\w*)\b")

_SHARED_FIRST = [
    _FREQ,
    ("TIME", rf"\b(?:after|before|until|till|as soon as) (?:{_WHO}|that|this|the game (?:is over|ends|starts|begins))\b"),
    ("TIME", r"\bbefore (?:the )?(?:game|turn|round) (?:is )?(?:over|ends|starts)\b|\bbefore (?:they|it) (?:are|is|get) \w+"),
    # indifference ("just pick balls, I don't care", "any one you like"): a choice no convention makes
    ("VAGUE", r"\bi do not (?:really )?(?:care|mind)\b|\b(?:any|whichever|whatever) (?:ball|one|number|card)s? you (?:like|want|fancy|feel like)\b"),
    ("RESTRICT", r"\bunless\b|\bonly(?=.*\b(?:when|if)\b)|\bexcept (?:when|if)\b|\b(?:when|if)(?=.*\bonly\b(?!\s*$))"),
]

SAY_SELECT = [
    # quitting "as soon as the game starts", "in the first turn", "from the start" is quitting at once (before the
    # TIME pattern reads "as soon as the game starts" as a time, and before ONCE reads "first turn")
    ("NOW", r"\b(?:as soon as|when|once) the game (?:starts|begins)\b|\b(?:from|at) the (?:very )?(?:start|beginning|outset)\b|"
            r"\b(?:in|on|at|during) (?:the|your) (?:very )?first (?:turn|round|move|go)\b|\bdirectly\b|\bstraight away\b"),
    _POSITION,
] + _SHARED_FIRST + [
    ("WRAP_UP", r"\bafter (?:5|five)[ ,]*(?:(?:it )?(?:comes?|is|goes?|go|wraps?|loops?)(?: around)?(?: back)?(?: to)? )?(?:1|one)\b"),
    ("WRAP_UP", r"\b(?:5|five) (?:wraps?|goes?|loops?|maps?|rolls?|cycles?|turns?|becomes?|leads?) (?:around |round |back |over )?(?:(?:in)?to )?(?:1|one)\b"),
    # the wrap said as a case: "(1 when I say 5)", "wrap to 1 if I say 5"
    ("WRAP_UP", r"\b(?:wrap\w* (?:around |round |back )?to )?(?:1|one) (?:when|if|whenever) (?:i|you|alice|we) (?:say|says|said|call|calls|get|gets) (?:5|five)\b"),
    ("WRAP_DOWN", r"\b(?:wrap\w* (?:around |round |back )?to )?(?:5|five) (?:when|if|whenever) (?:i|you|alice|we) (?:say|says|said|call|calls|get|gets) (?:1|one)\b"),
    ("WRAP_DOWN", r"\bbefore (?:1|one)[ ,]*(?:(?:it )?(?:comes?|is|goes?|go|wraps?|loops?)(?: around)?(?: back)?(?: to)? )?(?:5|five)\b"),
    ("WRAP_DOWN", r"\b(?:1|one) (?:wraps?|goes?|loops?|maps?|rolls?|cycles?|turns?|becomes?|leads?) (?:around |round |back |over )?(?:(?:in)?to )?(?:5|five)\b"),
    ("WRAP_UP", r"\bwrap\w* (?:around |round )?(?:from )?(?:5|five) (?:back |around |round )?(?:to|into|onto) (?:1|one)\b"),
    ("WRAP_DOWN", r"\bwrap\w* (?:around |round )?(?:from )?(?:1|one) (?:back |around |round )?(?:to|into|onto) (?:5|five)\b"),
    ("WRAP", r"\b(?:wrap ?around|wraps? around|wrapping(?: around)?|with wrap\w*|wrap\w*|loop\w* (?:back|around)|cyclic\w*|modulo|mod (?:5|five))\b"),
    ("COND_SAY", rf"\b(?:if|when|whenever|once|each time|every time|as soon as|should) {_WHO}(?= (?:\w+ )?"
                 r"(?:say|says|said|call|calls|name|names|mention|mentions|state|states|repeat|repeats|announce|announces)\b)"),
    ("ORDER", r"\b(?:first )?(?:1|one)[ ,]+(?:then |next |and then )(?:2|two)(?:[ ,]+(?:then |next |and then )?(?:3|three|4|four|5|five))*\b|"
              r"\b(?:in order|ascending|one by one|in sequence|sequence|sequential\w*|consecutive\w*|count(?:ing)? up|"
              r"each in turn|starting (?:at|from|with) (?:1|one))\b|\b(?:1|one)[ ,]+(?:2|two)[ ,]+(?:3|three)\b|\b(?:1|one)[ ,]+(?:then |next )(?:2|two)\b"),
    ("UP", rf"\b(?:{_ONE} )?(?:more|higher|bigger|greater|larger) than\b|\bmore one than\b"),
    ("UP", r"\b(?:one|1) (?:more|higher|bigger|greater|larger|up|above|over|after)\b"),
    ("UP", r"\b(?:plus|add|\+) ?(?:one|1)\b|\bincrement\w*|\bgo (?:one )?up\b|\bone up\b|"
           r"\b(?:go|step|move|count) (?:forward|ahead|on) (?:one|1|a ball|a number)\b|\b(?:one|1) (?:forward|ahead)\b"),
    ("UP", r"\b(?:that|which|who) follows?\b|\bfollows (?:mine|my|it|that|the|what)\b"),
    ("UP", r"\bnext (?:up|higher)\b|"rf"\bfollowing (?:the )?(?:one|number|ball)\b|\bfollowing {_REF}"),
    # "next" with no reference point ("next one", "take the next ball") may be the next ball in order as well as
    # the one after the said number: NEXT, which select-next accepts only beside a reference to what is said
    ("NEXT", r"\bnext (?:one|number|ball)\b|\b(?:the|then|pick|take|choose|select) next\b"),
    ("UP", rf"\b(?:comes? |right |just |directly |immediately )?(?:after|above) {_REF}"),
    ("DOWN", rf"\b(?:{_ONE} )?(?:less|lower|smaller|fewer) than\b|\bless one than\b"),
    ("DOWN", r"\b(?:one|1) (?:less|lower|smaller|fewer|down|below|under|before)\b"),
    ("DOWN", r"\b(?:minus|subtract|-) ?(?:one|1)\b|\bdecrement\w*|\bgo (?:one )?down\b|\bone down\b|\bpreced\w*|"
             r"\b(?:go|step|move|count) back (?:one|1|a ball|a number)\b|\b(?:one|1) back\b"),
    ("DOWN", rf"\b(?:comes? |right |just |directly |immediately )?(?:before|below|under|beneath) {_REF}"),
    ("DOWN", rf"\bprevious (?:one|number|ball) (?:to|than|before|from) {_REF}|\bthe one before\b"),
    ("VAGUE", r"\b(?:the )?same (?:ball|number|one) (?:every|each|all the) (?:time|turn|round)s?\b"),
    # the even and odd balls listed: "2 4", "2s and 4s", "the 2 or the 4", "two or four", "1 3 5", "ones threes and fives"
    ("EVEN", r"\bevens?\b(?! (?:if|when|though|so|more|better|now))|"
             r"(?<![0-9] )\b(?:2s?|twos?),? (?:and |or |& )?(?:the )?(?:4s?|fours?)\b(?! [0-9])"),
    ("ODD", r"(?<![0-9] )\b(?:1s?|ones),? (?:the )?(?:3s?|threes?),? (?:and |or |& )?(?:the )?(?:5s?|fives?)\b(?! [0-9])"),
    ("ODD", r"\bodds?\b"),
    ("EXCEPT", r"\b(?:except|other than|apart from|besides|instead|anything but|different|another|other|else)\b"),
    ("CONTINUE", r"\b(?:keep (?:on )?(?:going|playing|picking|selecting|choosing|taking)|every (?:single )?(?:turn|time|round)|"
                 r"until the end|till the end|to the end|all the way|always (?:pick|select|choose|take)|"
                 r"(?:pick|select|choose|take) a ball every\w*|continue\w*)\b"),
    ("REPEAT", r"\balready (?:said|say|picked|took|taken|selected|chose|chosen|called|named|mentioned)\b"),
    ("PREV", r"\b(?:have |had )?just (?:took|taken|picked|selected|chose|chosen|grabbed|got|had)\b|"
             r"\b(?:took|taken|picked|selected|chose|chosen|grabbed) (?:just now|a moment ago|previously|before|last)\b"),
    ("NOW", r"\bbefore (?:any|making any|the first|your first|selecting|picking|choosing|taking)\w*(?: (?:selection|pick|ball|choice)s?)?\b"),
    ("NOW", r"\bat once\b"),
    ("ONCE", r"\b(?:after (?:one|1|a single)(?! (?:more|less|higher|lower|up|down|above|below|greater|bigger|smaller)))\b|\b(?:once|single|only one|(?:one|1) (?:ball|pick|selection|time|turn|go)|first (?:pick|selection|ball|turn|choice)|"
             r"(?:pick|take|select|choose|grab) (?:just )?one(?! (?:number|more|less|higher|lower|up|down|above|below|before|after|greater|bigger|smaller)))\b"),
    ("NOW", r"\b(?:now|immediately|at once|right away|straight away|already|asap|instantly|from the start|right now)\b"),
    # "stop picking my number": "stop" before a verb in -ing with an object negates that verb (parser.polarity)
    ("CEASE", r"\b(?:stop|quit)(?= \w+ing (?:my|the(?! game)|what|whatever|that|it|them|your|those|these|same|alice|mine)\b)"),
    ("QUIT", r"\b(?:bail\w*|dip|dips|dip out|bounce|peace out|tap out|call it (?:quits|a day)|log off|"
             r"quit\w*|stop\w*|end|ends|ending|leave|leaving|exit\w*|give up|giving up|gives up|done|finish\w*|"
             r"withdraw\w*|terminat\w*|(?:game|it|that)(?:'s| is| was)? over|(?:select|pick|choose|say) (?:0|zero)|"
             # "over" alone is no cue: a radio sign-off ("... Over."), "start over", "hand it over"
             # the other verbs and idioms of giving up a game: "resign", "retire", "forfeit", "concede", "bow out",
             # "throw in the towel", "pack it in", "pull the pin", "chuck it in", "cash out", "walk away"
             r"resign\w*|retir\w*|forfeit\w*|conced\w*|bow\w* out|throw\w* in the towel|pack\w* it in|"
             r"pull\w* the pin|chuck\w* it in|cash\w* out|walk\w* away|close\w* out)\b"),
    ("REPEAT", r"\b(?:repeat\w*|again|twice|echo\w*|second time|two times|in a row|back)\b"),
    _ORDINAL,
    ("SAME", r"\b(?:same|copy\w*|mirror\w*|match\w*|identical)\b"),
    ("PREV", r"\b(?:previous\w*|last|before|earlier|recent\w*|just (?:took|picked|selected|chose|got|had))\b"),
    ("SELECT", r"\b(?:select\w*|pick\w*|choos\w*|chose|take|takes|taking|took|grab\w*|go for|follow|do)\b"),
    ("SAY", r"\b(?:say|says|said|saying|call\w*|name\w*|announc\w*|mention\w*|tell\w*|state\w*|give|my (?:number|call|pick|ball))\b"),
    ("LATER", r"\bafter\b"),
    ("VAGUE", r"\b(?:double\w*|half|halve|triple|times|multipl\w*|divid\w*|squar\w*|sum|total|random\w*|highest|lowest|"
              r"biggest|smallest|largest|big|small|middle|opposite|revers\w*|backwards?|alternat\w*|every other|higher|lower|"
              r"bigger|smaller|greater|larger|above|below|up|down|left|right|follow\w+|ahead|behind|past|beyond|prior|"
              r"adjacent|neighbou?r\w*|beside|around|nearest|closest|between|next|prime|multiple\w*|divisible|"
              r"favou?rite|lucky)\b"),
]

HANABI = [_POSITION] + _SHARED_FIRST + [
    # "only" on giving hints, left after RESTRICT ("only when", "unless"): "only give hints that lead to a play",
    # "hint only playable cards" restrict which hints are given, which only hint-only-certain explains (it is not
    # any-hint-play). "only" on playing ("play only the cards I hint") is left alone.
    ("ONLY", r"\b(?:only|solely|exclusively)(?= (?:ever )?(?:\w+ ){0,2}?(?:give|giving|hint|hints|hinting|clue|clues|clueing|"
             r"cluing|tell|telling|touch|reveal)\b)|(?<=hint )only\b|(?<=hints )only\b|(?<=clue )only\b|(?<=clues )only\b"),
    ("PLAYABLE", r"\b(?:leads?|leading|lead) to (?:a )?(?:play|plays)\b|\bplays? right away\b"),
    ("JARGON", r"\b(?:finesse\w*|bluff\w*|prompt\w*|tempo|stall\w*|sarcastic|layered|gentlem[ae]n\w*|good touch|bad touch|"
               r"chop moves?|cm|elim\w*|fix clues?|play clues? on 5s|ez)\b"),
    ("JARGON", r"\b(?:2|two) saves?\b"),
    ("NOHINT", r"\b(?:if|when|whenever) (?:i|you|we|my partner) (?:give (?:you |me )?no (?:hint|clue)s?|"
               r"(?:do|does|did|have|has|had|will|can) not (?:hint|clue|give|tell)\w*(?: (?:you|me))?(?: (?:anything|a hint|a clue))?)\b"),
    ("OLD", r"\b(?:had|drew|drawn|got|picked up|held|holding) (?:it |them )?(?:the )?(?:first|longest|earliest)\b|"
            r"\b(?:oldest|old|longest|chop|most old|earliest)\b"),
    ("NEW", r"\b(?:newest|latest|most recent\w*|recent\w*|freshest|last drawn|just (?:drew|drawn|got|picked up)|"
            r"(?:drew|drawn|picked up|got|take|took) (?:it )?(?:last|most recently)|(?:brand )?new(?= (?:card|cards|one)\b)|more new)\b"),
    ("CRIT", r"\b(?:critical\w*|last (?:remaining )?cop(?:y|ies)|only (?:remaining )?cop(?:y|ies)|irreplaceable|one of a kind)\b"),
    ("FIRST", r"\bbefore (?:any|all|every) other\w*(?: cards?)?\b|\b(?:first|before anything(?: else)?|prioriti[sz]\w*|priority|early|asap)\b"),
    ("PLAYABLE", r"\b(?:playable|can be played|(?:you |i )?can play|will work|good to play|is good|are good)\b"),
    ("KEEP", r"\bkeep (?:\w+ )?safe\b|\b(?:keep\w*|kept|save\w*|saving|hold\w*|hang on|retain\w*|protect\w*|preserv\w*|precious)\b"),
    ("SURE", r"\b100 ?(?:%|percent)|\b(?:sure|unsure|certain\w*|uncertain\w*|know|known|knows|definitely|guaranteed|confident|safe)\b"),
    ("BLIND", r"\b(?:blind\w*|random\w*|guess\w*|bombs?|bombing|misplay\w*)\b"),
    ("FIVE", r"\b(?:5s|fives|five|5)\b"),
    # "ones" as a pronoun ("the ones I tell you the colour of", "hinted ones", "the easy ones") is not the 1s
    ("ONES", r"\b(?:1s|rank (?:1|one)|cards? of (?:1|one))\b|"
             r"(?<!ed )(?<!\bnew )(?<!\bold )(?<!\bother )(?<!\bthese )(?<!\bthose )(?<!\bgood )(?<!\bsafe )(?<!\beasy )"
             r"(?<!\bsame )(?<!\bright )(?<!\bwrong )\bones\b(?! (?:i|you|we|that|which|who|whose|with|in|on|from|of)\b)"),
    ("NOW", r"\b(?:right now|now|immediate|immediately|right away|at once)\b"),
    ("OFTEN", r"\b(?:often|a lot|alot|lots|many|much|frequently|generously|freely|as much as|plenty|more|every turn|each turn|"
              r"all the time|constantly|non ?stop|spam\w*|every chance|"
              r"whenever (?:you |i |we )?(?:can|could|possible|are able|have (?:a )?(?:token|chance)))\b"),
    ("HINT", r"\b(?:hint\w*|clue\w*|tell|tells|told|telling|reveal\w*|indicat\w*|point\w*|touch\w*|mark\w*|inform\w*|"
             r"show\w*|signal\w*|say(?= (?:\w+ )?about)|give (?:you |me )?(?:a |the )?(?=colou?r|rank|number))\b"),
    ("DISCARD", r"\b(?:discard\w*|throw\w*|toss\w*|dump\w*|bin|ditch\w*|get rid|chuck\w*|trash\w*)\b"),
    ("PLAY", r"\b(?:play|plays|played|playing)\b"),
    ("COLOR", r"\b(?:colou?rs?|colou?red|clr|hue)\b"),
    ("COLOR_NAME", r"\b(?:reds?|yellows?|greens?|whites?|blues?)\b"),
    ("RANK", r"\b(?:ranks?|numbers?|values?|digits?)\b"),
    ("EXCEPT", r"\b(?:except|other than|apart from|besides|instead|but not|(?:everything|anything|all|something) else|else|"
               r"(?:any|all|every) other(?! (?:case|cases|situation|situations|circumstances?|times?)\b))\b"),
    ("POSITION", r"\b(?:next to|adjacent\w*|beside|neighbou?r\w*|left\w*|right\w*|middle|slot|position\w*)\b"),
    ("ANY", r"\b(?:any|every|whatever|either|both|whichever|whether)\b"),
    _ORDINAL,
    ("VAGUE", r"\b(?:every other|half|twice|double|second|third|last|random\w*|opposite|odd|prime|"
              r"evens?(?! if| when| though| so))\b"),
]

_TABLES = {"say-select": SAY_SELECT, "hanabi": HANABI}
_COMPILED = {game: [(tag, re.compile(pattern)) for tag, pattern in table] for game, table in _TABLES.items()}
_NUMBER = re.compile(r"\b(?:[0-9]+|zero|two|three|four|five)(?:s|es)?\b")  # "2s", "threes": plural numbers
# A worked example, "if I say 2 you go 3", "when I say 1 you take 5": the tag says which convention it
# illustrates (EX_UP: one more; EX_WRAP_UP: 5 -> 1; EX_SAME: the same). An example explains no rule by itself,
# it only agrees or not with the rule read beside it (parser.py).
_EXAMPLE = re.compile(
    rf"\b(?:say|says|said|saying|call|calls|called|name|names|state|states|mention|mentions|announce|announces|pick|picks|choose|chooses)\s+({_N})\b"
    r"[ ,]*(?:(?:then|well|so|and|please)[ ,]+)*(?:(?:you|bob|we|u)\s+)?(?:(?:should|will|would|must|can|just)\s+)?"
    r"(?:go|goes|take|takes|pick|picks|choose|chooses|select|selects|grab|grabs|get|loop|loops|wrap|wraps|jump|jumps|"
    r"come|comes|move|moves|means?|is|becomes?|say|pick)\w*"
    rf"(?:\s+(?:back|around|round|over|up|down))*(?:\s+(?:to|for|with))?(?:\s+(?:ball|the ball|number|the number))?\s+({_N})\b")


@functools.lru_cache(maxsize=4096)
def cues(game: str, clause: str) -> dict[str, tuple[str, ...]]:
    """{tag: words} of one normalised clause, e.g. cues("say-select", "pick one more than i say") ->
    {"UP": ("one more than",)}."""
    found: dict[str, list[str]] = {}
    text = f" {clause} "
    if game == "say-select":
        def example(match: re.Match) -> str:
            found.setdefault(_example_tag(*(_value(g) for g in match.groups())), []).append(match.group(0).strip())
            return " " + "_" * max(1, len(match.group(0)) - 2) + " "
        text = _EXAMPLE.sub(example, text)
    for tag, pattern in _COMPILED[game]:
        def take(match: re.Match) -> str:
            found.setdefault(tag, []).append(match.group(0).strip())
            return " " + "_" * max(1, len(match.group(0)) - 2) + " "
        text = pattern.sub(take, text)
    values = []
    for match in _NUMBER.finditer(text):
        word = match.group(0)
        value = _value(word)
        values.append(value)
        found.setdefault(f"N{value}" if 0 <= value <= 5 else "VAGUE", []).append(word)
    if len(values) >= 3 and values != sorted(values):   # "in order 5 4 3 2 1": a sequence no convention counts
        found.setdefault("VAGUE", []).append(" ".join(str(v) for v in values))
    return {tag: tuple(words) for tag, words in found.items()}


def _value(word: str) -> int:
    word = re.sub(r"(?<=[0-9])s$|(?<=[a-z])e?s$", "", word) if word not in NUMBER_WORDS else word
    return NUMBER_WORDS.get(word, int(word) if word.isdigit() else -1)


def _example_tag(said: int, chosen: int) -> str:
    """The convention a worked example "you say `said`, I choose `chosen`" illustrates, as a tag."""
    if chosen == said:
        return "EX_SAME"
    if chosen == said % 5 + 1:
        return "EX_WRAP_UP" if said == 5 else "EX_UP"
    if chosen == (said - 2) % 5 + 1:
        return "EX_WRAP_DOWN" if said == 1 else "EX_DOWN"
    return "VAGUE"


def unexplained(found: dict[str, tuple[str, ...]], accepts: frozenset[str]) -> dict[str, tuple[str, ...]]:
    """The tags of `found` (and their words) that a convention accepting `accepts` does not explain."""
    return {tag: words for tag, words in found.items() if tag not in NEUTRAL and tag not in accepts}


def satisfies(found: dict[str, tuple[str, ...]], negated: bool, requires: tuple[frozenset[str], ...]) -> bool:
    """Whether a clause with these cues (and polarity) has one tag of every group in `requires`."""
    present = set(found) | ({"NOT"} if negated else set())
    return all(group & present for group in requires)
