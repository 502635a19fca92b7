"""Free text -> weights over a game's conventions, with what was understood and what was not, in words.

The rule this parser keeps: an instruction is adopted without asking only when every clause of it maps to
a convention with confidence. Otherwise the agent asks, naming what it understood, what it did not, and
(when it has them) the readings it hesitates between, one choice per reading. Never a silent misreading.

The reading of one instruction, step by step:

1. Normalise: lower case, contractions spelt out ("don't" -> "do not"), "=" and ":" read as "means", chat
   abbreviations ("pls", "clr", "rn", "w/e") spelt out, list markers ("1)", "(b)") made sentence breaks,
   and the words that carry no instruction dropped: greetings, thanks, hedges ("I think", "maybe"),
   politeness ("could you", "I would like you to", "I'd be so grateful if"), chatter ("no cap", "bear with me",
   "sound good?"), reasons ("because ..."). Emoji and code are read as the words they stand for (`_notation`). A
   bullet starts a sentence; a label before a colon with no cue ("House rule: ...") is dropped; a slip corrected
   with "I mean" is replaced by its correction ("never discard, I mean never quit" -> "never quit").
2. Spelling: a word the embedding model's vocabulary does not know is replaced by the nearest word of
   the conventions' own vocabulary, within one edit (short words) or two (transpositions count as one):
   "slect teh same nubmer" -> "select the same number".
3. Clauses: the text is cut at sentence ends, at "and"/"but"/"also" and at commas; a conditional ("if I
   hint a colour, play it") stays one clause; a parenthesis, an example ("like 1, 3 and 5") and a
   contrast ("keep it, not play it"; "rather than play it") stay with their clause; a piece with no
   content word joins its neighbour; a run of one-word sentences ("GIVE. ME. HINTS.") is one clause.
4. Negation: each clause has a polarity (an odd number of "not", "never", "no", "avoid", ...) and a core
   (the clause without those words). "never X unless Y" is read as "X only when Y". The sentence embedding
   does not tell "quit" from "never quit", so polarity is handled here, in words, and only cores are embedded.
5. Cues (cues.py): the words that change a clause's meaning are found by rule and tagged: "one more
   than" (UP), "before the one I say" (DOWN), "even", "only when sure" (SURE), "colour" and "rank", "5s",
   "finesse" (JARGON), a number, a comparison no convention defines (VAGUE).
6. Matching: the core is compared (cosine, all-MiniLM-L6-v2) with the core of every example phrasing and
   every description of every convention. An example with the clause's polarity votes for its
   convention; one with the opposite polarity votes for that convention's `negation`, or for nothing.
   A convention is a candidate for the clause only when it explains every cue of the clause (`accepts`),
   has the cues it needs (`requires`: select-next needs UP; color-hint-play needs a colour word) and, in
   Hanabi, is about the kind of hint the clause names. A clause that is (nearly) one of the examples
   (cosine >= EXACT) is that example's convention.
7. Judging: a clause is understood when its best candidate matches well, clearly beats the next
   candidate and accounts for every content word of the clause (the whitelist, `_strangers`: a cue word, a
   plain game word, a word of the candidate's own phrasings or a listed synonym of one, or a word that never
   changes a rule; any other word is named in the question), with no double negation; unclear when candidates are close or weak (the close ones become choices) or when no
   candidate explains its cues (the unexplained words are named); off-topic when it matches nothing and
   has no cue (a remark about the weather, in a sentence of its own next to an instruction, is set aside
   as an aside). Two clauses asking for conflicting conventions make the instruction contradictory: one
   choice per side. The understood conventions share the weight equally; the share of a clause that was
   not understood is left to the uniform remainder of the prior. When the agent asks, the weights shrink
   by the confidence.
8. A second opinion (reader.py): when the rules would ask, the learned reader reads the whole text. Its
   reading is adopted only if it is the rules' own clause-by-clause reading and no guard of the rules
   fires (`_second_opinion`); when the agent still asks with nothing to choose, the reader's reading is
   offered as the one choice (`_suggest`). The reader never changes a reading and never adopts alone.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np

from agents.priors.conventions.convention import Convention
from agents.priors.conventions.cues import NEUTRAL, NUMBER_WORDS, cues, satisfies, unexplained
from agents.priors.conventions.embedder import Embedder
from agents.priors.conventions.reader import Reader

# Thresholds on the cosine similarity of a clause to its best example. OFF_TOPIC_BELOW, SURE_ABOVE and
# CLEAR_MARGIN date from the first parser; CUED_SURE_ABOVE applies to a convention whose required cues are
# present (a clause with "even" and nothing unexplained needs less embedding evidence to be read as
# even-balls-only). Checked on the paraphrase benchmark's held-out half (benchmarks/paraphrase.py).
OFF_TOPIC_BELOW = 0.36     # best score under this, and no cue: the clause is not about the game
SURE_ABOVE = 0.62          # best score over this: the match itself is sure
CUED_SURE_ABOVE = 0.45     # the same for a convention whose required cues the clause has
COVERED_SURE_ABOVE = 0.2   # ... and when every content word of the clause is a cue or a plain game word
CLEAR_MARGIN = 0.06        # lead over the runner-up candidate that counts as clear
CHOICE_WITHIN = 0.12       # candidates this close to the best are offered as choices when unsure
CLARIFY_BELOW = 0.5        # confidence under this: ask the person
EXACT = 0.97               # a match this close is one of the examples: its convention, whatever the cues
_NUMBER_TAG = re.compile(r"N\d$")
# The cues the learned reader may stand in for in a clause the rules could not read: the verbs of the game, which
# people say in words no rule lists ("fire" for play, "chuck" for discard, "bail" for quit). Never a modifier
# (repeat, one more, newest, colour...) and never a negation.
_VOUCHED = frozenset({"PLAY", "PLAYABLE", "DISCARD", "HINT", "QUIT", "SAY", "SELECT"})
# A condition or restriction in a clause that matches no convention ("but only beneath a full moon"): it may
# limit the rest of the instruction, so the learned reader may not set it aside.
_CONDITION = re.compile(r"\b(?:only|except|unless|until|if|when|whenever|provided|but|as long as|so long as)\b")
# ... or a directive about how to behave ("be unpredictable", "mix it up", "try to surprise me"): a rule of its own.
_DIRECTIVE = re.compile(r"^(?:be|act|stay|try|vary|mix|change|switch|surprise|behave|make|become|start|turn|get|go|always)\b")
AGREE_ABOVE = 0.8          # the learned reader's probability that lets its agreement replace a question
SUGGEST_ABOVE = 0.5        # ... and that lets its reading be offered as a choice when the agent asks anyway

_CONTRACTIONS = (
    (r"\bcan't\b|\bcant\b|\bcannot\b", "can not"), (r"\bwon't\b|\bwont\b", "will not"),
    (r"\bdon't\b|\bdont\b", "do not"), (r"\bdoesn't\b|\bdoesnt\b", "does not"),
    (r"\bdidn't\b|\bdidnt\b", "did not"), (r"\bshouldn't\b|\bshouldnt\b", "should not"),
    (r"\bisn't\b|\bisnt\b", "is not"), (r"\baren't\b|\barent\b", "are not"), (r"n't\b", " not"),
    (r"'ll\b", " will"), (r"'re\b", " are"), (r"'ve\b", " have"), (r"\bi'm\b|\bim\b", "i am"), (r"'s\b", ""),
    (r"'d\b", " would"),
)
_REWRITES = (
    # negation scope: "never, ever quit", "not ever", "do not, ever, quit" are one negation of the verb that follows
    # (a comma after a negation word does not end its clause); an interjected "no," before a sentence is an answer,
    # not a negation of what follows ("no, do not quit")
    (r"\b(never|not|no)\s*,?\s*(?:ever\s*,?\s*)+(?=[a-z])", r"\1 "), (r"\b(never|not)\s*,\s*(?=[a-z])", r"\1 "),
    (r"(?:^|(?<=[.;!?]))\s*(?:no|nope|nah)\s*[,!.]+\s*(?=[a-z])", " "),
    # a polite condition is not a negated instruction ("if it is not too much trouble, ...")
    (r"\bif (?:it|that|this)(?: is| would be)? not (?:too much )?(?:trouble|a problem|a bother|too much to ask|too much)\b", " "),
    (r"\be\.g\.|\bi\.e\.|\bnamely\b|\bsuch as\b|\bthat is\b", " for example "), (r"\bw/e\b", "whatever"),
    (r"\s*=\s*", " means "), (r"&", " and "), (r"(?<=\w)\s*:\s*(?=\w)", " means "),
    (r"\+\s*1\b", " plus one"), (r"(?<![\w-])-\s*1\b", " minus one"), (r"\b(the number|[nkx])\s*-\s*1\b", r"\1 minus one"), (r"[\"'`]", " "), (r"(\w)-(\w)", r"\1 \2"),
    (r"^\s*instructions?\s*:\s*", ""), (r"\bif not\b|\bor else\b", "otherwise"), (r"\bnothing else\b", "only"),
    (r"\bignor(?:e|ing) (?:the |your |my )?(?:say|says|said|saying|message|call|calls|number)s?\b", " whatever i say "),
    (r"\b(?:regardless of|independent(?:ly)? (?:of|from)|irrespective of|ignor(?:e|ing)|no matter|"
     r"(?:do not|not|never|without) (?:listen(?:ing)?|pay(?:ing)? attention|car(?:e|ing)|look(?:ing)?)(?: to| about| at)?|"
     r"(?:it )?(?:is )?not important|(?:it )?does not matter)\s+(?:what(?:ever)?\s+|of\s+)?(?:i|my|alice|your partner|the partner)\b"
     r"(?:\s+(?:say|says|said|call|calls|pick|picks|message|utterance|number|choice|words?)\b)?(?:\s+(?:is|are|says?))?", " whatever i say "),
    # "shocking, I know" / "I know, wild": an "I know" standing alone concedes a point, it says nothing about the game
    (r"(?:^|(?<=[,.;!?]))\s*i know\s*(?=[,.;!?]|$)", " "),
    (r"\(\s*(?:and|also)\s+", "("), (r"(?<=[a-z])\s+\+\s+(?=[a-z])", " and "),   # "hint only playable stuff + play 1s first"   # "(and 5 when I say 1)": a parenthesis that opens with "and" adds to its clause
    (r"(?:,\s*|\bbut\s+)not (if|when)\b", r" except \1"), (r"\b(if|when|whenever) you hold\b", r"\1 you have"),
    (r"\ba certain (number|colou?r|rank|value|kind)", r"a \1"), (r"\bhang onto\b", "hang on to"),
    (r",?\s*\b(?:full stop|period|end of story|no exceptions)\s*(?=[.;!?]|$)", " "),
    (r"\s+instead\s*(?=[.;!?]|$)", " "), (r"\beven if\b", "if"),
    (r"\b(?:bail(?:s|ing)?|bounce|dip|peace|tap)(?: out)?(?: on (?:me|us))?(?=\s*(?:$|[.,;!?]|now|then|after|when|if|once|as))|"
     r"\bcall it (?:quits|a day)\b", " quit "),
    (r"\b(?:at |in )?(?:all |any |every |the )?other times?\b|\bthe rest of the time\b", " otherwise "),
    (r"\b(?:that is |that )?(?:my|the) (?:way|signal|cue) (?:of saying|to say|for)\b", " means "),
    (r"([a-z]+_[a-z_]+)\s*=\s*(\w+)", r"\1 \2"),
    (r"\bfor (?:each )?\w in (\d) to (\d)\s*(?:means|:)?\s*", r"in order from \1 to \2, "),
    (r"\bwhat(?:ever)? (?:i|alice|your partner) (?:say|says|said|call|calls|am saying)s? (?:is|are|does) "
     r"(?:not important|unimportant|irrelevant|not matter)\b", " whatever i say "),
    (r"\bno matter what\b", "always"), (r"\bno matter\b", "whatever"),
    (r"\b(?:does|do) not matter\b", "either way"), (r"\brefrain from\b|\bhold off on\b|\bhold off\b", "do not"),
    (r"\bit is best not to\b|\bbest not to\b", "do not"), (r"\bmake sure (?:that )?", ""),
    (r"\bevery single\b", "every"), (r"\b(any|every|all) ?(\w*) but\b(?! not)", r"\1 \2 except"), (r"\bone or more\b", "some"), (r"(?<=\d)\s*,\s*(?=\d)", " "),
    (r"(?:^|(?<=[.;!?]))\s*(?:first(?:ly)?|second(?:ly)?|third(?:ly)?|finally|lastly)\s*,", ". "),
    (r"\b(?:do not|never|not)\s+(?:ever\s+)?([a-z ]+?)\s+(?:unless|until)\b(?! the (?:game|end)\b)", r"\1 only when"),
)
_VARIABLE = re.compile(r"\b(say|says|said|select|choose|pick|take|call|calls|if|for|when|then|ball|number|equals|is|where) [nkx]\b|"
                       r"\b[nkx](?= (?:is|equals|plus|minus|means|<|>)\b)")
_ABBREVIATIONS = {"pls": "please", "plz": "please", "u": "you", "ur": "your", "r": "are", "clr": "color",
                  "col": "color", "num": "number", "nr": "number", "b4": "before", "thx": "thanks", "pos": "position",
                  "rn": "right now", "em": "them", "alot": "a lot", "1st": "first", "2nd": "second", "w": "with",
                  "abt": "about", "da": "the", "ya": "you", "crit": "critical", "crits": "critical cards", "smth": "something", "sel": "select", "poss": "possible", "sth": "something", "smthg": "something", "dunno": "do not know",
                  "tho": "though", "wat": "what", "fr": "", "ngl": "", "tbh": "", "frfr": "", "istg": "", "ong": "", "smh": "", "cuz": "because", "bc": "because", "idk": "i do not know", "nvm": "never mind"}
# Words and phrases that carry no instruction, dropped before reading: greetings, thanks, fillers, hedges and
# politeness. What is left of a sentence of nothing but these is nothing.
_FILLERS = re.compile(
    r"\b(?:(?:thank you|thanks)(?: (?:so|very) much)? for (?:your|the) (?:patience|help|time|understanding|cooperation|trouble)|"
    r"(?:thank you|thanks) (?:so|very) much|good luck|have fun|gl ?hf|glhf|thanks|thank you|please|kindly|dear|buddy|mate|lol|haha\w*|lmao|hehe|"
    r"umm*|uhh*|ugh|yo|hi|hello|hey|okay|ok|alright|anyway|so+|well|now then|got it|how hard is that|"
    r"(?:thank you|thanks)(?: (?:so|very) much)?(?: for (?:your|the) \w+)?(?=\s*(?:[.!?]|$))|"
    r"however|i could be wrong|though i could be wrong|(?:it )?seems to me(?: that)?|i wanted you to|"
    r"good (?:morning|afternoon|evening|day)|(?:thank you|thanks) (?:so|very) much|no cap|for real|to be honest|honestly|"
    r"literally|totally|seriously|(?:you|ya|y) know(?=\s*(?:,|$|[.;!?]))|bear with me(?: here)?|hear me out|sounds? good|"
    r"(?:is )?that (?:ok|okay|alright|fair|clear)|that seems (?:fair|right|ok)|here (?:is )?the thing|the thing is|"
    r"(?:the|my) (?:best|main|one|only) thing (?:i need from you |i want |to do )?is(?: to| that)?|(?:to )?keep it simple|"
    r"i (?:do not|dont) know(?=\s*(?:,|$|[.;!?]))|do not overthink it|(?<![a-z] )(?:right|look|listen)(?= ?,)|"
    r"if that is alright|if that is ok|if you do not mind|if (?:it|that|this)(?: is| would be)? not (?:too much )?(?:trouble|a problem|a bother|too much to ask|too much)|"
    r"(?:you )?(?:might|may) (?:want to )?consider|would you mind|bro|bruh|dude|fam|"
    r"i think|i guess|i suppose|i reckon|i believe|i mean|"
    r"maybe|perhaps|probably|basically|actually|really|exactly|precisely|(?<!not )just(?! (?:took|taken|picked|selected|chose|chosen|grabbed|got|had|drew|drawn|now))|simply|how about|could you|would you|can you|"
    r"you could|you should|you must(?: to)?|you ought to|you need to|you have to|try to|i want you to|i need you to|"
    r"i would like you to|i would prefer (?:it )?(?:that|if)|i would ask that|i would appreciate it if|"
    r"it would be best if|(?:i think )?the (?:best|most sensible|simplest|easiest) (?:thing|plan|idea|approach|way|strategy|arrangement)"
    r"(?: (?:would be|is|will be))?(?: (?:for you |if you ))?|i would rather|i would prefer|let us|lets|do your best|i am not (?:really )?sure(?: how this works| what to say)?|"
    r"i do not (?:really )?understand this game(?: yet)?|"
    # gratitude and apology frames: "I'd be ever so grateful if you ...", "I really appreciate it", "many thanks in
    # advance", "sorry to bother you", "I hope this is alright", "if you wouldn't mind", "by all means"
    r"i would be (?:(?:very|so|really|ever so|ever|most|extremely|truly|eternally|super|so very) )*"
    r"(?:grateful|thankful|happy|glad|delighted|obliged|pleased)(?: if(?: you(?: would| could)?)?)?|"
    r"i (?:would |really |truly |do |greatly )*appreciate (?:it|that|this)(?: (?:a lot|very much|so much))?(?: if(?: you(?: would| could)?)?)?|"
    r"(?:(?:many|much) )?thanks in advance|many thanks|thanks a (?:lot|bunch|million|ton)|much appreciated|cheers|"
    r"sorry to (?:bother|trouble|pester|disturb) you|i hope (?:this|that|it) is (?:alright|all right|ok|okay|fine)|"
    r"if you (?:would|could)(?: not)? mind(?: (?:terribly|very much|too much))?|(?<=mind) (?:terribly|very much|too much)|"
    r"if you would(?= ?,)|if you please|by all means|"
    # a check that the instruction was understood: "or is that confusing?", "does that make sense?", "is that clear enough?"
    r"(?:or )?(?:is|does|was) (?:that|this|it) (?:too )?(?:confusing|clear(?: enough)?|make sense|makes sense|"
    r"understandable|complicated|too much)|(?:that|this) makes sense|"
    r"sorry)\b|^\s*now\s*(?=,)")
_HEADINGS = re.compile(r"(?:^|(?<=[.;!?\n]))\s*(?:rules?|plan|strategy|note|two things|three things|here is the deal|"
                       r"listen|ok so|so)\s*(?:means|:)\s*")
_LIST_MARKERS = re.compile(r"(?:^|(?<=[.;:!?,]))\s*(?:\(?[0-9a-c]\)|[0-9]\.(?=\s))\s*")
_NEGATIONS = {"not", "never", "no", "avoid", "without", "nor", "neither", "nothing", "forbidden", "refrain"}
_STOPWORDS = set(
    "a an the i me my mine you your yours we us our it its they them their he she his her is are was were be "
    "been being am do does did doing to of in on at by for with as that this these those so if when whenever "
    "then than there here and or but also just please thanks ok okay hey hi bob alice partner partners "
    "always ever would will should can could must may might shall really very too some any all every each "
    "what which who whom whose how why where while once after before only again lol haha lmao hehe btw "
    "yes yeah well else let go have has had get got".split()
)
_CONDITIONAL_START = re.compile(r"^(?:if|when|whenever|whatever|whichever|once|after|unless|as soon as|in case|"
                                r"each time|every time|otherwise|else|in (?:every|any|all) other cases?|"
                                r"in that case|should (?:i|you|my partner)|in the event|provided|as long as|except (?:when|if))\b")
# A piece that continues the clause before it rather than starting a new one.
_CONTINUATION = re.compile(r"^(?:in which case|whether|(?:the )?exact\b|as (?:a|an|the)|which|namely|including|especially|by \w+ing|"
                           r"whatever (?:you|i|alice|my partner|your partner) (?:say|says|call|calls|do|does)$)\b")
_PRONOUN = re.compile(r"\b(?:it|them|those|these|that one)\b")
# "and subtract one", "but one less": arithmetic with no verb of its own modifies the clause before it
_ARITHMETIC = re.compile(r"^(?:then )?(?:add|subtract|plus|minus|take away|go) (?:one|1)\b|^(?:one|1) (?:less|more|lower|higher|up|down)$")
# "I'll say a number; you pick ...": a sentence that only says what the speaker will do sets the scene for
# the next one, like a condition.
_SCENE = re.compile(r"^i (?:will |am going to |would )?(?:say|call|name|announce|tell|give|pick|choose)(?: you)?"
                    r"(?: a| one)? (?:number|ball|card|hint)s?$")
_VERBS = {"play", "discard", "pick", "select", "choose", "take", "keep", "hint", "clue", "give", "copy", "quit", "stop",
          "hold", "save", "throw"}
_PLAIN = {  # words of a game that say nothing about how to play it
    "say-select": set("ball balls number numbers pick picks select selects choose take grab go say said call calls offset shift "
                      "whatever whichever "
                      "name names tell give announce mention one ones time times turn turns round game thing way "
                      "something want mean means like cue".split()),
    "hanabi": set("card cards hand hint hints clue clues give get something mean means one ones turn turns time "
                  "game way want thing things stuff token tokens partner".split()),
}
# "always"/"never" make a piece a rule of its own: "ALWAYS QUIT. NEVER QUIT" is two rules, not one.
_RULE_MARKER = re.compile(r"\b(?:always|never|not|no|do not)\b")
_SEQUENCE = {"first", "next", "then", "second", "third", "after", "that", "and", "so", "on"}
_ELABORATION = re.compile(r"^(?:like|for example|for instance|say)\b")
_CONTRAST = re.compile(r"\s*(?:,\s*(?:not|no)\s+(?!just\b|only\b|merely\b|simply\b)|,\s*(?:not|never)\s+(?=\w+ed\b)|\brather than\b|\binstead of\b)([^,;.]*)")
_SENTENCES = re.compile(r"[.;!?\n]+")
# "and then" joins a sequence ("choose a single ball and then withdraw"), kept whole; it starts a rule of its own when
# what follows has its own time or condition ("select the number I say and then quit after you select one").
_JOINERS = re.compile(r",?\s*\b(?:and|but|also)\b(?!\s+then\b(?![^,;.]*\b(?:after|when|whenever|if|once|as soon as|until)\b))\s*|,\s*|"
                      r"\s+(?=then\b[^,;.]*\b(?:after|when|whenever|once|as soon as|until)\b)")
_WORD = re.compile(r"[a-z0-9]+")
_QUESTION = re.compile(r"^(?:what|who|whom|whose|where|why|how|which|"
                       r"(?:can|could|would|will|do|does|did|is|are|am|should|shall) (?:you|i|we|it|he|she|they|there))\b")
_ASIDE = re.compile(r"^(?:i|i am|i have|i had|this|that|it|the|nice|what a|today|my|we|our|there|she|he|they)\b")
# A story about the past ("my sister and I played this last week", "I was thinking") tells the agent nothing
# to do, whatever game words it has: next to an understood instruction it is set aside too.
# "why did you discard that", "why are you hinting me useless stuff": a complaint about the partner's move, asked as a
# question, tells the agent nothing to do (unlike "why don't you hint more", which suggests a move, and is kept).
_COMPLAINT = re.compile(r"^why (?:did|are|were|have|would|do|does) you\b(?!.*\b(?:not|never)\b)")
_NARRATIVE = re.compile(r"^(?:you|you just) (?:picked|chose|took|quit|stopped|played|discarded|bombed|hinted|did|kept)\b|"
                        r"^i (?:never|did not) (?:told|tell|said|say|asked|ask)\b|"
                        r"^(?:i|we|she|he|they|my \w+|our \w+)(?: \w+)? (?:was|were|had|did|played|kept|used|tried|"
                        r"went|drove|read|saw|heard|learned|learnt|found|thought|liked|loved|hated|watched|set|got)\b|"
                        r"^(?:the|this|that|it|my|our)\b(?!.*\b(?:if|when|whenever|unless|once)\b).*\b(?:was|were)\b")
_REASON = re.compile(r"(?<!just )(?<!only )(?<!not )(?<!merely )\b(?:because|cuz|coz)\b[^,.;!?]*")   # a reason says why, not what: it is dropped
# "like" before a frequency is a filler ("hint me like every turn"), not the start of an example
_LIKE_FILLER = re.compile(r"\blike (?=(?:every|each|always|all the time|twice|once|three times|a lot|never|constantly|"
                          r"literally|totally|really|whenever|super|so)\b)")
_KIND_ALTERNATIVES = re.compile(r"^(?:whether (?:it is |it |they are |they |by )?)?(?:a |by |of |the )?(?:colou?r|number|rank|value)s?"
                                r"(?: hints?| clues?)?,? or (?:a |by |of |the )?(?:colou?r|number|rank|value)s?\b")


@dataclass(frozen=True)
class Reading:
    """How one clause of the instruction was read."""

    text: str                  # the clause, normalised and spell-corrected
    convention: str | None     # the best candidate convention, or None when none explains the clause
    score: float               # its similarity score
    runner_up: float           # the best score of any other candidate
    negated: bool
    base: str | None           # the convention of the example that matched (before negation)
    status: str                # "understood", "unclear", "off-topic" or "aside"
    cues: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (tag, words) found in the clause
    unexplained: tuple[str, ...] = ()   # words of cues no candidate convention explains
    alternatives: tuple[str, ...] = ()  # candidates close to the best, offered as choices when unsure
    sure_above: float = SURE_ABOVE      # the score that made this match sure (lower when cues back it)
    strangers: tuple[str, ...] = ()     # content words the best candidate's own phrasings never use

    @property
    def confidence(self) -> float:
        low = min(OFF_TOPIC_BELOW, self.sure_above - 0.1)
        fit = np.clip((self.score - low) / (self.sure_above - low), 0.0, 1.0)
        lead = np.clip((self.score - self.runner_up) / CLEAR_MARGIN, 0.0, 1.0)
        return float(fit * (0.5 + 0.5 * lead))


@dataclass(frozen=True)
class Choice:
    """One reading the agent hesitates over: the conventions it would adopt, in words."""

    summary: str
    understood: tuple[tuple[str, float], ...]

    def to_dict(self) -> dict:
        return {"summary": self.summary,
                "understood": [{"convention": c, "weight": round(w, 4)} for c, w in self.understood]}


@dataclass(frozen=True)
class Understanding:
    """What an instruction was understood to mean: conventions with weights, in words."""

    game: str
    instruction: str
    understood: tuple[tuple[str, float], ...]   # (convention id, weight), highest first; sum <= 1, the rest
                                                # of the prior is uniform (scaled by confidence when asking)
    confidence: float                           # in [0, 1]
    clarify: bool                               # unsure: ask the person to confirm, choose or rephrase
    off_topic: bool                             # nothing in the text is about playing this game
    contradictory: bool                         # asks for conventions that exclude each other
    summary: str                                # the reading, in words
    question: str | None                        # what to ask the person when clarify is true
    readings: tuple[Reading, ...] = field(default=())
    choices: tuple[Choice, ...] = field(default=())    # the readings to choose between, one per reading
    not_understood: tuple[str, ...] = field(default=())  # the clauses (as typed, normalised) not understood
    reader_confidence: float | None = None      # adopted because the learned reader agreed (reader.py), this sure

    def to_dict(self) -> dict:
        return {
            "instruction": self.instruction,
            "game": self.game,
            "understood": [{"convention": c, "weight": round(w, 4)} for c, w in self.understood],
            "confidence": round(self.confidence, 4),
            "clarify": self.clarify,
            "off_topic": self.off_topic,
            "contradictory": self.contradictory,
            "summary": self.summary,
            "question": self.question,
            "choices": [c.to_dict() for c in self.choices],
            "not_understood": list(self.not_understood),
            "reader_confidence": None if self.reader_confidence is None else round(self.reader_confidence, 4),
        }


class Parser:
    """Reads instructions for one game against its conventions."""

    def __init__(self, game: str, conventions: Sequence[Convention], embedder: Embedder, reader: Reader | None = None):
        self.game = game
        self.reader = reader   # the learned second opinion (reader.py), consulted only before a question
        self.conventions = {c.id: c for c in conventions}
        self.embedder = embedder
        self._examples: list[tuple[str, bool]] = []   # (convention id, negated) per example clause
        self._matrix: np.ndarray | None = None
        self._known: frozenset[str] | None = None
        self._vocabulary: dict[str, frozenset[str]] = {}   # per convention: the stems its phrasings use
        self._plain = frozenset(_stem(w) for w in _PLAIN[game])
        self._speller: _Speller | None = None

    def understand(self, instruction: str) -> Understanding:
        self._prepare()
        text = self._spell(normalise(instruction))
        clauses = split_clauses(text)
        if not clauses:
            return self._off_topic(instruction, ())
        polarities = [polarity(c) for c in clauses]
        vectors = self.embedder.embed([core for _, core in polarities])
        readings = tuple(self._read(clause, negated, core, vector)
                         for clause, (negated, core), vector in zip(clauses, polarities, vectors))
        doubled = _DOUBLE_NEGATION.findall(text)
        if doubled:   # "don't NOT pick my number": a double negation is asked about, never resolved by counting
            readings = tuple(replace(r, status="unclear", strangers=tuple(_unique(doubled)))
                             if r.status == "understood" and set(r.text.split()) & _NEGATIONS else r
                             for r in readings)
        understanding = self._judge(instruction, self._set_asides(readings))
        if self.reader is not None and not doubled:
            understanding = self._second_opinion(understanding, text)
        if self.reader is not None and understanding.clarify and not understanding.choices:
            understanding = self._suggest(understanding, text)
        return understanding

    def clean(self, instruction: str) -> str:
        """The instruction as the parser reads it: normalised, spelt, without fillers (what the reader embeds)."""
        self._prepare()
        return self._spell(normalise(instruction))

    def text_of(self, conventions: Sequence[str]) -> str:
        """Words that read back as exactly these conventions: their descriptions (the confirmed form of a
        reading: what a person confirms is stored and re-read as this text)."""
        return " ".join(self.conventions[c].description for c in conventions)

    # -- preparing the examples, once ------------------------------------------------------------------

    def _prepare(self) -> None:
        if self._matrix is not None:
            return
        cores = []
        for convention in self.conventions.values():
            for example in (*convention.examples, convention.description):
                for clause in split_clauses(normalise(example)):
                    negated, core = polarity(clause)
                    self._examples.append((convention.id, negated))
                    cores.append(core)
        domain = {w for text in cores for w in _WORD.findall(text)}
        self._vocabulary = {c.id: frozenset(_stem(w) for text in (*c.examples, c.description, c.id.replace("-", " "))
                                            for w in _WORD.findall(normalise(text)))
                            for c in self.conventions.values()}
        self._known = self.embedder.vocabulary() | domain | _STOPWORDS
        self._speller = _Speller(domain)
        self._matrix = self.embedder.embed(cores)

    def _spell(self, text: str) -> str:
        def fix(match: re.Match) -> str:
            word = match.group(0)
            if word in _ABBREVIATIONS:
                return _ABBREVIATIONS[word]
            if word in self._known or (word.endswith("s") and word[:-1] in self._known) or any(c.isdigit() for c in word):
                return word
            return self._speller.correct(word) or word
        return _FILLERS.sub(" ", _LIKE_FILLER.sub("", _REASON.sub(" ", _WORD.sub(fix, text))))

    # -- reading one clause ----------------------------------------------------------------------------

    def _read(self, clause: str, negated: bool, core: str, vector: np.ndarray) -> Reading:
        similarity = self._matrix @ vector
        # The best score of each (convention read, convention of the example, the example's polarity): an
        # example of the other polarity reads as its convention's negation, and the clause's cues must then
        # fit the example's convention (whose words the clause uses), not the negation's.
        pairs: dict[tuple[str, str, bool], float] = {}
        for (example_id, example_negated), score in zip(self._examples, similarity):
            target = example_id if example_negated == negated else self.conventions[example_id].negation
            key = (target, example_id, example_negated)
            if target is not None and score > pairs.get(key, -1.0):
                pairs[key] = float(score)
        best: dict[str, tuple[float, str]] = {}
        for (target, base, _), score in pairs.items():
            if score > best.get(target, (-1.0, ""))[0]:
                best[target] = (score, base)
        found = cues(self.game, clause)
        tags = tuple(sorted(found.items()))
        bare = self._covered(core, found)
        signed = {cid: self.conventions[cid].signed(found, negated, bare) for cid in best}
        ranked = sorted(best, key=lambda c: best[c][0], reverse=True)
        top_score = best[ranked[0]][0]
        if top_score >= EXACT:
            cid = ranked[0]
            return Reading(clause, cid, top_score, _second(best, cid), negated, best[cid][1], "understood", tags)
        fit: dict[str, tuple[float, str]] = {}
        for (target, base, example_negated), score in pairs.items():
            fits = (self._fits(self.conventions[target], found, negated) if target == base else
                    self._fits(self.conventions[base], found, example_negated) and _kind_fits(self.conventions[target], found))
            if fits and signed[target] and score > fit.get(target, (-1.0, ""))[0]:
                fit[target] = (score, base)
        fitting = sorted(fit, key=lambda c: fit[c][0], reverse=True)
        meaningful = {t: w for t, w in found.items() if t not in NEUTRAL}
        if not fitting:
            partial, missing = self._partial(found, negated, ranked, best)
            status = "off-topic" if not meaningful and top_score < OFF_TOPIC_BELOW else "unclear"
            return Reading(clause, None, top_score, 0.0, negated, None, status, tags, missing, partial)
        cid = fitting[0]
        score, runner_up = fit[cid][0], (fit[fitting[1]][0] if len(fitting) > 1 else 0.0)
        sure = SURE_ABOVE
        # its required cues are there: with a cue that changes meaning, or a whole clause of cues and game words
        # that is not a question (a question asks something; it does not tell the agent how to play)
        if self.conventions[fit[cid][1]].requires and (meaningful or not _QUESTION.match(clause)):
            if self._covered(core, found):
                sure = COVERED_SURE_ABOVE
            elif meaningful:
                sure = CUED_SURE_ABOVE
        strangers = self._strangers(core, found, cid, fit[cid][1])
        if score < OFF_TOPIC_BELOW and not meaningful:
            status = "off-topic"
        elif score >= sure and score - runner_up >= CLEAR_MARGIN and not strangers and not _doubts(clause):
            status = "understood"
        else:
            status = "unclear"
        close = tuple(c for c in fitting[:3] if fit[c][0] >= min(sure, max(OFF_TOPIC_BELOW, score - CHOICE_WITHIN)))
        return Reading(clause, cid, score, runner_up, negated, fit[cid][1], status, tags, (), close, sure, strangers)

    def _strangers(self, core: str, found: dict[str, tuple[str, ...]], cid: str, base: str) -> tuple[str, ...]:
        """The content words of a clause that nothing explains for its reading as `cid`: not a cue word, not a
        plain word of the game, and never used by the phrasings of `cid` (or of `base`, the convention whose
        example matched). A word the reading does not account for may change what the clause means ("pick
        whichever ball you think is best", "play the card one higher than I hint"): the agent asks, never
        guesses. Words are compared by stem ("hinted" is "hint")."""
        cue_words = {_stem(w) for words in found.values() for phrase in words for w in _WORD.findall(phrase)}
        known = self._vocabulary[cid] | self._vocabulary.get(base, frozenset()) | cue_words
        known |= self._plain
        synonyms = _SYNONYMS[self.game]
        return tuple(_unique(w for w in content_words(core)
                             if w not in _HARMLESS and len(w) > 1 and not w.isdigit()
                             and not {_stem(w), _stem(synonyms.get(w, w))} & known))

    def _covered(self, clause: str, found: dict[str, tuple[str, ...]]) -> bool:
        """Whether every content word of the clause is a cue word or a plain word of the game ("ball",
        "card", "pick"): then the cues say all the clause says, and the embedding need not be sure."""
        cue_words = {w for words in found.values() for phrase in words for w in _WORD.findall(phrase)}
        return all(w in cue_words or w in _PLAIN[self.game] for w in content_words(clause))

    def _fits(self, convention: Convention, found: dict[str, tuple[str, ...]], negated: bool) -> bool:
        """Whether `convention` explains every cue of the clause and has the cues it needs."""
        return (not unexplained(found, convention.accepts) and satisfies(found, negated, convention.requires)
                and _kind_fits(convention, found))

    def _partial(self, found: dict[str, tuple[str, ...]], negated: bool, ranked: list[str],
                 best: dict[str, tuple[float, str]]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """For a clause no convention explains: the conventions that have its required cues and leave the
        fewest cues unexplained (at most two, offered as choices), and the words they leave unexplained
        (all the cue words when no convention has the cues it needs)."""
        partial = []
        for cid in ranked:
            c = self.conventions[cid]
            if satisfies(found, negated, c.requires) and _kind_fits(c, found) and best[cid][0] >= OFF_TOPIC_BELOW:
                partial.append((len(unexplained(found, c.accepts)), -best[cid][0], cid))
        if not partial:
            return (), tuple(w for tag, words in found.items() if tag not in NEUTRAL for w in words)
        partial.sort()
        fewest = partial[0][0]
        chosen = tuple(cid for n, _, cid in partial if n == fewest)[:2]
        missing = unexplained(found, self.conventions[chosen[0]].accepts)
        return chosen, tuple(w for words in missing.values() for w in words)

    def _set_asides(self, readings: tuple[Reading, ...]) -> tuple[Reading, ...]:
        """An off-topic statement ("I had coffee this morning") next to an understood clause is an aside:
        it is set aside, not asked about. A question, or anything with a cue, is never an aside."""
        understood = [self.conventions[r.convention] for r in readings
                      if r.status == "understood" and not _NARRATIVE.match(r.text) and not _COMPLAINT.match(r.text)]
        if not understood:
            return readings
        return tuple(Reading(r.text, None, r.score, r.runner_up, r.negated, None, "aside", r.cues)
                     if (not _QUESTION.match(r.text) or _CONDITIONAL_START.match(r.text) or _COMPLAINT.match(r.text))
                     and (not r.negated or "NOHINT" in dict(r.cues)) and (
                         _NARRATIVE.match(r.text) or _COMPLAINT.match(r.text) or r.status != "understood" and (
                             r.status == "off-topic" and not r.cues and _ASIDE.match(r.text)
                             or _agrees_as_example(r, understood) or _restates_whatever(r, understood)))
                     else r for r in readings)

    # -- judging the whole instruction -----------------------------------------------------------------

    def _judge(self, instruction: str, readings: tuple[Reading, ...]) -> Understanding:
        counted = [r for r in readings if r.status != "aside"]
        if not counted or all(r.status == "off-topic" for r in counted):
            return self._off_topic(instruction, readings)
        understood_clauses = [r for r in counted if r.status == "understood"]
        clash = self._contradiction(understood_clauses)
        if clash:
            return self._contradictory(instruction, readings, clash, understood_clauses)
        conventions = _unique(r.convention for r in understood_clauses)
        conventions = [c for c in conventions if not any(c in self.conventions[o].subsumes for o in conventions)]
        share = len(understood_clauses) / len(counted)
        missed = [r for r in counted if r.status != "understood"]
        if conventions:
            confidence = min(r.confidence for r in understood_clauses) * share
        else:
            confidence = max((r.confidence for r in missed if r.convention), default=0.0) * 0.5
        clarify = bool(missed) or confidence < CLARIFY_BELOW
        scale = confidence if clarify else 1.0
        understood = tuple((c, share / len(conventions) * scale) for c in conventions)
        choices = self._choices(conventions, missed)
        summary = self.summarise(understood) if understood else "I did not understand this instruction."
        question = self._question(summary if understood else None, missed, choices) if clarify else None
        return Understanding(self.game, instruction, understood, confidence, clarify, False, False, summary, question,
                             readings, choices, tuple(r.text for r in missed))

    def _second_opinion(self, understanding: Understanding, text: str) -> Understanding:
        """Adopt, instead of asking, a reading the learned reader (reader.py) and the rules agree on.

        Reconsidered: a question about words the rules do not know, weak matches, or clauses no convention
        fits. Never reconsidered: a lone word ("chop": jargon is asked about); an off-topic or contradictory
        instruction; a double negation (handled before); a question about the rules; a negated clause with a
        word the rules do not know ("never discard the ball I say": what is negated is that word); a clause
        that matches nothing and is negated, states a condition or is a directive ("don't piss off halfway
        through", "but only beneath a full moon", "be unpredictable"). The reader reads the whole text and
        must put one reading first with probability AGREE_ABOVE or more, with no two of its conventions in
        conflict, and the reading must be what the clauses say:

        - every clause the rules read has its best candidate (with its polarity) in the reading, and the
          reading holds nothing else unless a clause the rules could not read calls for it;
        - every clause the rules could not read is positive and names no number; when it has meaning-changing
          cues, the reader, reading that clause alone, is as sure of a part of the reading whose convention
          explains all those cues and has the cues it needs, where the reader may stand in for a verb of the
          game but never for a modifier (`_VOUCHED`: "fire your newest card blind" is play-newest; "when I
          say a number, quit" is not quit-on-repeat, which needs a repeat); a clause with no such cue is
          allowed only when it is no directive and the reading adds nothing to what the other clauses say
          ("kid screaming", "gg ez" beside a rule).

        So the reader can turn a needless question into an adoption, never one reading into another."""
        u = understanding
        if not u.clarify or u.off_topic or u.contradictory or len(content_words(text)) < 2:   # a lone word: "chop"
            return u
        counted = [r for r in u.readings if r.status != "aside"]
        if any(_doubts(r.text) or r.status == "off-topic" and (r.negated or _CONDITION.search(r.text) or _DIRECTIVE.match(r.text))
               for r in counted):
            return u
        if any(r.negated and r.strangers for r in counted):   # "never discard the ball I say": what is negated?
            return u
        unread = [r for r in counted if r.convention is None and r.status != "off-topic"]
        candidates = _unique(r.convention for r in counted if r.convention)
        candidates = frozenset(c for c in candidates if not any(c in self.conventions[o].subsumes for o in candidates))
        if not (candidates or unread):
            return u
        reading, p = self.reader.predict(self.game, text)
        if reading is None or p < AGREE_ABOVE or not reading >= candidates or self._conflicting(reading):
            return u
        cued = []
        for r in unread:
            tags = {t for t, _ in r.cues if t not in NEUTRAL}
            if r.negated or any(_NUMBER_TAG.match(t) for t in tags) or (not tags and _DIRECTIVE.match(r.text)):
                return u
            if tags:
                cued.append((r, tags))
        explaining: set[str] = set()
        alone = self.reader.predict_many(self.game, [r.text for r, _ in cued]) if cued else []
        for (r, tags), (own, q) in zip(cued, alone):
            fits = {c for c in reading if not tags - self.conventions[c].accepts
                    and own is not None and q >= AGREE_ABOVE and c in own and own <= reading
                    and all(group & tags or group <= _VOUCHED for group in self.conventions[c].requires)}
            if not fits:
                return u
            explaining |= fits
        if not reading - candidates <= explaining:
            return u
        understood = tuple((c, 1.0 / len(reading)) for c in sorted(reading))
        readings = tuple(replace(r, status="understood") if r.convention or r in unread else r for r in u.readings)
        return replace(u, understood=understood, confidence=p, clarify=False, summary=self.summarise(understood),
                       question=None, readings=readings, choices=(), not_understood=(), reader_confidence=p)

    def _suggest(self, understanding: Understanding, text: str) -> Understanding:
        """A question with no reading to choose from offers the learned reader's reading as one, when the reader
        gives it SUGGEST_ABOVE or more: one button instead of rephrasing. Nothing is adopted until the person
        chooses it. Not when a clause has meaning-changing words no convention explains ("two more than"):
        every reading would drop them (as in `_choices`)."""
        u = understanding
        if u.contradictory or any(r.unexplained for r in u.readings if r.status != "aside"):
            return u
        reading, p = self.reader.predict(self.game, text)
        if reading is None or p < SUGGEST_ABOVE or not reading <= set(self.conventions) or self._conflicting(reading):
            return u
        choice = self._choice(sorted(reading))
        missed = [r for r in u.readings if r.status not in ("understood", "aside")]
        summary = self.summarise(u.understood) if u.understood else None
        return replace(u, choices=(choice,), question=self._question(summary, missed, (choice,)))

    def _choices(self, conventions: list[str], missed: list[Reading]) -> tuple[Choice, ...]:
        """One choice per reading of the first unclear clause whose candidates each explain all of it: the
        understood conventions plus that candidate (candidates that conflict with the understood ones are left
        out). A clause with words no convention explains offers no choice: every reading would drop them."""
        for r in missed:
            if r.unexplained or r.convention is None:
                continue
            options = [c for c in r.alternatives if c not in conventions and not self._conflicts_with(c, conventions)]
            if options:
                return tuple(self._choice(conventions + [c]) for c in options)
        return ()

    def _choice(self, conventions: Sequence[str]) -> Choice:
        understood = tuple((c, 1.0 / len(conventions)) for c in conventions)
        return Choice(self.summarise(understood), understood)

    def _conflicts_with(self, candidate: str, conventions: Sequence[str]) -> bool:
        return any(c in self.conventions[candidate].conflicts or candidate in self.conventions[c].conflicts
                   for c in conventions)

    def _conflicting(self, conventions: frozenset[str]) -> bool:
        """Whether two of `conventions` cannot be asked for together."""
        return any(self._conflicts_with(c, [o]) for c in conventions for o in conventions if o != c)

    def _contradiction(self, readings: Sequence[Reading]) -> tuple[Reading, Reading] | None:
        for i, a in enumerate(readings):
            for b in readings[i + 1:]:
                if a.convention == b.convention:
                    continue
                conflicting = self._conflicts_with(b.convention, [a.convention])
                opposite = a.base == b.base and a.negated != b.negated
                if (conflicting or opposite) and not _exception_to(a, b, self.conventions):
                    return a, b
        return None

    def summarise(self, understood: Sequence[tuple[str, float]]) -> str:
        """The reading in words: the general conventions (with their shares when several), then the
        conditional ones, which take precedence where they apply (convention.py)."""
        general = [(self.conventions[c], w) for c, w in understood if not self.conventions[c].conditional]
        special = [self.conventions[c] for c, _ in understood if self.conventions[c].conditional]
        total = sum(w for _, w in general)
        parts = [c.description if len(general) == 1 else f"{c.description.rstrip('.')} ({w / total:.0%})."
                 for c, w in general]
        if special:
            lead = "Where it fits, this wins: " if general else ""
            parts.append(lead + " ".join(c.description for c in special))
        return " ".join(parts)

    def _question(self, summary: str | None, missed: Sequence[Reading], choices: Sequence[Choice]) -> str:
        parts = [f"I understood: {summary}"] if summary else []
        for r in missed:
            if r.unexplained:
                words = ", ".join(f"\"{w}\"" for w in _unique(r.unexplained))
                parts.append(f"I did not understand \"{r.text}\": I know no convention for {words} there.")
            elif r.strangers:
                quoted = [f"\"{w}\"" for w in r.strangers]
                words = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
                verb = "means" if len(quoted) == 1 else "mean"
                parts.append(f"I did not understand \"{r.text}\": I am not sure what {words} {verb} there.")
            else:
                parts.append(f"I did not understand \"{r.text}\".")
        if len(choices) > 1:
            parts.append("Which do you mean? " + " Or: ".join(c.summary for c in choices))
        elif choices:
            parts.append(f"Did you mean: {choices[0].summary}")
        ask = "Choose one, or say it in other words." if choices else (
            "Is that what you meant? Confirm it, or say it in other words." if summary else
            "Please say it in other words.")
        return " ".join(parts + [ask])

    def _off_topic(self, instruction: str, readings: tuple[Reading, ...]) -> Understanding:
        game = "Say-Select" if self.game == "say-select" else "Hanabi"
        example = next(iter(self.conventions.values())).description
        missed = tuple(r.text for r in readings if r.status != "aside")
        return Understanding(
            self.game, instruction, (), 0.0, True, True, False,
            f"I did not find an instruction about how to play {game} in this.",
            f"How should I play? You could say, for example: \"{example}\"", readings, (), missed)

    def _contradictory(self, instruction: str, readings, clash: tuple[Reading, Reading],
                       understood_clauses: Sequence[Reading]) -> Understanding:
        a, b = clash
        rest = _unique(r.convention for r in understood_clauses if r.convention not in (a.convention, b.convention))
        choices = tuple(self._choice(rest + [side.convention]) for side in clash
                        if not self._conflicts_with(side.convention, rest))
        first, second = (self.conventions[r.convention].description.rstrip(".") for r in clash)
        return Understanding(
            self.game, instruction, (), 0.0, True, False, True,
            f"This asks for two things that exclude each other: \"{a.text}\" and \"{b.text}\".",
            f"Which do you mean: {first}, or {second}? Choose one, or say it in other words.", readings, choices,
            (a.text, b.text))


def _second(best: dict[str, tuple[float, str]], first: str) -> float:
    return max((s for c, (s, _) in best.items() if c != first), default=0.0)


def _unique(items) -> list:
    out = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _hint_kind(found: dict[str, tuple[str, ...]]) -> str:
    """Which kind of hint a clause names: "color", "rank", "both" or "none"."""
    color = bool({"COLOR", "COLOR_NAME"} & set(found))
    rank = bool({"RANK", "N1", "N2", "N3", "N4", "N5", "FIVE", "ONES"} & set(found))
    return {(True, False): "color", (False, True): "rank", (True, True): "both"}.get((color, rank), "none")


def _kind_fits(convention: Convention, found: dict[str, tuple[str, ...]]) -> bool:
    """A Hanabi hint convention fits a clause about its kind of hint ("any": both kinds, or neither named)."""
    kind = _hint_kind(found)
    return convention.hint_kind in (None, kind) or convention.hint_kind == "any" and kind in ("both", "none")


def _agrees_as_example(reading: Reading, understood: Sequence[Convention]) -> bool:
    """"When I say 1 you take 5" next to "take one less than my number": a clause whose only cues are worked
    examples (EX_ tags, cues.py) that a convention read beside it explains is an example of that rule."""
    tags = {t for t, _ in reading.cues if t not in NEUTRAL}
    agreeing = {t for t in tags if t.startswith("EX_") or t == "NOHINT"}
    return bool(agreeing) and any(tags <= c.accepts for c in understood)


_WHATEVER = re.compile(r"^(?:and |then |so )?whatever (?:i|you|alice|your partner) (?:say|says|said|am saying|call|calls)$")


def _restates_whatever(reading: Reading, understood: Sequence[Convention]) -> bool:
    """"Go 1, 2, 3 in order. Ignore what I say." / "What I say is not important": a clause that only says the said
    number does not matter restates a convention read beside it that ignores it ("..., whatever you say")."""
    return bool(_WHATEVER.match(reading.text)) and any("whatever you say" in c.description for c in understood)


def _exception_to(a: Reading, b: Reading, conventions: dict[str, Convention]) -> bool:
    """"Quit when I repeat; otherwise never quit": a clause that starts with "otherwise" states the rule
    around a conditional convention, so the two do not contradict each other."""
    for rule, exception in ((a, b), (b, a)):
        if conventions[exception.convention].conditional and re.match(r"^(?:otherwise|else|in (?:every|any|all) other)",
                                                                      rule.text):
            return True
        if conventions[exception.convention].conditional and rule.text.endswith(" otherwise"):
            return True
    return False


# -- text helpers ------------------------------------------------------------------------------------


def normalise(text: str) -> str:
    text = _BULLETS.sub(". ", text.lower().replace("\u2019", "'").replace("\u2018", "'"))
    text = _LABEL.sub(_label, _notation(text))
    text = _VARIABLE.sub(lambda m: f"{m.group(1) or ''} the number".strip(), text)
    for pattern, replacement in _CONTRACTIONS + _REWRITES:
        text = re.sub(pattern, replacement, text)
    text = _DASH.sub(", ", text)
    text = _SLIP.sub(_corrected_slip, text)
    text = _UNLESS_THEN.sub(r"\1. if \2, ", text)
    text = _LIST_MARKERS.sub(". ", text)
    text = _HEADINGS.sub(". ", text)
    text = _mask_parentheses(text)
    return re.sub(r"\s+", " ", text).strip()


# A dash between spaces ("blind-play your newest card - trust me") separates like a comma.
_DASH = re.compile(r"\s+[-\u2013\u2014]+\s+|\s*[\u2013\u2014]+\s*")
# "mirror me unless I repeat your last ball, then resign": an exception with a rule of its own is that rule's
# condition ("mirror me. if I repeat your last ball, resign"), not a restriction of the rule before it.
# Only a rule that opens its sentence: under a condition ("if I hint a card play it, unless it is a 5, then keep
# it") the second rule keeps the condition, and is left as it is.
_UNLESS_THEN = re.compile(r"(?:^|(?<=[.;!?]))\s*(?!(?:if|when|whenever|once|as soon as)\b)([a-z][^.;!?,]*?)\s*,?\s*\bunless\b,?\s*([^.;!?,]+?)\s*,\s*(?:then|in which case)\s+")
# A slip corrected ("never discard... I mean never quit", "play only even cards I mean balls", "when I say a colour,
# I mean hint a colour, play those cards"): what follows "I mean" replaces as many words at the end of the piece
# before it (all of them when it is as long, or when both open with a verb or a negation). "I mean it" is emphasis, dropped
# with the fillers.
_SLIP = re.compile(r"(?:^|(?<=[.;!?,]))([^.;!?,]+?)\s*(?:\.{2,}|,)?\s*(?:sorry\s*,?\s*)?\bi mean\b\s*,?\s*"
                   r"([^.;!?,]+)")
_EMPHASIS = {"it", "that", "this", "business", "what", "seriously", "literally", "really", "exactly"}


def _corrected_slip(match: re.Match) -> str:
    before, after = match.group(1).split(), match.group(2).split()
    if not before or before[0] == "by" or not after or after[0] in _EMPHASIS:
        return match.group(0)
    lead = re.match(r"\s*", match.group(1)).group(0)
    def clause(word: str) -> bool:   # a piece that opens with a verb or a negation is a whole rule
        return word in _VERBS or word in _NEGATIONS or word in ("do", "always")
    if len(after) >= len(before) or clause(before[0]) and clause(after[0]):
        return lead + " ".join(after)
    return lead + " ".join(before[:len(before) - len(after)] + after)


# A bullet ("- ", "* ", "\u2022") starts a sentence of its own: the lines of a list are separate rules.
_BULLETS = re.compile(r"(?:^|\n)\s*[-*\u2022\u00b7\u2013\u2014]\s+|\s*\u2022\s*")
# A label before a colon that opens a sentence ("House rule: ...", "KPI: ...", "Risk mitigation: ...", "Crazy
# concept: ...") names the rule that follows; it is not part of it. It is dropped when it is at most three words,
# none of them a cue of either game ("Discards: oldest first", "Colour clue: play it", "Repeat: quit" keep theirs)
# nor a word that frames or scopes a rule (a negation, "if", "otherwise", "only", "except", "always", ...).
_LABEL = re.compile(r"(?:^|(?<=[.;!?]))(\s*)([a-z][a-z ]{0,40}?)\s*:\s+(?=[a-z0-9(])")
_LABEL_BLOCKERS = frozenset("if when whenever otherwise else unless only except but then always never once after "
                            "before until every each all any first last and or so".split())


def _label(match: re.Match) -> str:
    words = match.group(2).split()
    if not 1 <= len(words) <= 3 or set(words) & (_LABEL_BLOCKERS | _NEGATIONS) or \
            any(cues(game, match.group(2)) for game in ("say-select", "hanabi")):
        return match.group(0)
    return match.group(1)


# Emoji and code are ways of writing words. A keycap is its digit; an arrow means "goes to"; the few emoji that
# stand for a move ("🔒 colour hints", "▶️ number hints") are that move where they open a clause; any other emoji
# between two words ends a clause ("ALWAYS QUIT 🛑 NEVER QUIT" is two clauses) and is otherwise dropped.
_EMOJI = "[\u2190-\u21ff\u2300-\u27bf\u2b00-\u2bff\u3030\u303d\U0001f000-\U0001faff]"
_EMOJI_RUN = re.compile(f"(?:{_EMOJI}[\ufe0f\u200d]*)+")
_EMOJI_WORDS = {"\U0001f512": "keep", "\U0001f510": "keep", "\u25b6": "play", "\U0001f5d1": "discard"}
_ARROWS = re.compile(r"\s*(?:->|=>|-->|\u2192|\u27a1\ufe0f?|\u21d2)\s*")
_CODE = (   # code and set notation, read as the words it stands for
    (r"(?<=[a-z]{2})\.(?=[a-z]{2})", " "), (r"\bon\s+(\w+)\s*\(([^()]*)\)\s*:", lambda m: f"when i {m.group(1)} {m.group(2).replace(',', ' ')}, "),
    (r"#+\s*", ". "), (r"!=|\u2260|=/=|<>", " is not "), (r"==", " is "), (r":=", " means "),
    (r"\bwhile\s+true\b\s*:?", " always "), (r"\belse\s*:", ". otherwise "), (r"\bassert\b", " "),
    (r"\bif\s+([^:,.;?!]{1,40}?)\s*:\s*(?=\w)", r"if \1, "),
    (r"(?<=[a-z0-9])_(?=[a-z0-9])", " "), (r"\(\s*\)", " "), (r"[\[\]{}]", " "), (r"(?<=\d)\s*\.\.\s*(?=\d)", " to "),
    (r"\b(?:true|none|null|return)\b", " "),
)


def _notation(text: str) -> str:
    text = re.sub(r"([0-9])\ufe0f?\u20e3", r" \1 ", text)
    text = _ARROWS.sub(" goes to ", text)

    def emoji(match: re.Match) -> str:
        run, before, after = match.group(0), text[:match.start()], text[match.end():]
        word = next((w for e, w in _EMOJI_WORDS.items() if run.startswith(e)), None)
        opens = not re.search(r"[a-z0-9]\s*$", before) or re.search(r"[,.;:!?]\s*$", before)
        if word and opens and re.match(r"\s*[a-z]", after):
            return f" {word} "
        if re.search(r"[a-z0-9]\s*$", before) and re.match(r"\s*[a-z0-9]", after):
            return ". "
        return " "
    text = _EMOJI_RUN.sub(emoji, text)
    for pattern, replacement in _CODE:
        text = re.sub(pattern, replacement, text)
    return text


def _mask_parentheses(text: str) -> str:
    """A parenthesis is part of its clause: its commas and "and"s do not cut it, and the brackets go."""
    def inner(match: re.Match) -> str:
        body = re.sub(r",", " ", match.group(1))
        return " " + re.sub(r"\band\b", "plus", body) + " "
    return re.sub(r"\(([^()]*)\)", inner, text).replace("(", " ").replace(")", " ")


# Words that never change what a rule asks for: prepositions and particles, words that frame a case ("in that
# case", "at any point", "for example"), framing verbs ("treat X as", "take that as"), intensifiers and
# the pieces of a table that are not a move. Words that do change it (best, good, higher, lowest, twice, second,
# other, early, usually, ...) are not here: the agent asks about them unless the convention's own phrasings use them.
_HARMLESS = frozenset(
    "about from out away under during into onto over off through within upon across along around "
    "example examples instance case cases event events moment point points circumstance circumstances condition "
    "conditions situation situations scenario anything everything something anyone everybody whatsoever "
    "otherwise instead either ahead kind kindly quite possibly certainly definitely absolutely totally "
    "itself yourself myself yourselves ourselves own whole entire exactly directly simply straight straightaway "
    "treat consider regard regarded make made see remember try need needs wish prefer agree use using used "
    "happen happens happened feel going gonna wanna gotta count counts signal signals sign cue cues message code "
    "rule rules convention conventions strategy plan idea approach policy default instruction instructions request "
    "note tip reminder early prematurely wait waiting "
    "yep thats lets still course cool fine great nice awesome "
    "episode step steps move moves action actions option options choice choices standard direct directly "
    "precisely exact least among type sort such equals equal goes identity "
    "jeez gosh geez omg wow damn dammit ugh argh able possible likewise similarly".split())
# Words the conventions' phrasings do not use but mean one of theirs, per game (checked by stem).
_SYNONYMS = {
    "say-select": {"mirror": "copy", "echo": "copy", "match": "same", "identical": "same", "withdraw": "quit",
                   "exit": "quit", "leave": "quit", "resign": "quit", "forfeit": "quit", "figure": "number",
                   "digit": "number", "value": "number", "corresponding": "same", "response": "select", "respond": "select",
                   "reply": "select", "output": "select", "input": "say", "listen": "hear",
                   "playing": "game", "pronounce": "say", "state": "say", "shout": "say", "utter": "say",
                   "sing": "say", "announced": "say", "yell": "say"},
    "hanabi": {"dump": "discard", "chuck": "discard", "bin": "discard", "toss": "discard", "ditch": "discard",
               "trash": "discard", "scrap": "discard", "burn": "discard", "hold": "keep", "retain": "keep",
               "preserve": "keep", "protect": "keep", "safe": "keep", "safely": "keep", "touch": "hint",
               "touched": "hint", "touches": "hint", "mark": "hint", "say": "hint", "tell": "hint",
               "mention": "hint", "show": "hint", "indicate": "hint", "spam": "often", "frequently": "often",
               "stack": "play", "stacks": "play", "pile": "play", "firework": "play", "fireworks": "play",
               "playables": "playable", "good": "playable", "table": "play", "fits": "playable", "fit": "playable", "colour": "color", "colours": "color",
               "colors": "color", "numbers": "rank", "number": "rank", "value": "rank", "slot": "card", "slots": "card",
               "concern": "hint", "concerns": "hint", "concerning": "hint", "take": "draw", "taken": "draw",
               "took": "draw", "received": "draw", "got": "draw"},
}
_IRREGULAR = {"taken": "take", "took": "take", "chosen": "choose", "chose": "choose", "threw": "throw",
              "thrown": "throw", "drew": "draw", "drawn": "draw", "gave": "give", "given": "give", "told": "tell",
              "said": "say", "held": "hold", "kept": "keep", "left": "leave", "got": "get", "gotten": "get"}


def _stem(word: str) -> str:
    """A crude stem, enough to match a word with its forms in the phrasings: "hinted", "hints" -> "hint"."""
    word = _IRREGULAR.get(word, word)
    for suffix in ("ing", "ed", "es", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


# Doubts the embedding cannot see, each a reason to ask: a double negation ("don't NOT pick my number", "never not
# play"; found in the whole text, before repeated words are merged), a question about what the person should do
# ("should I hint you more?").
_DOUBLE_NEGATION = re.compile(r"\b(?:not|never) (?:not|never)\b")
_OWN_QUESTION = re.compile(r"^(?:should|shall|do|can|may|must|could) (?:i|we)\b")


# A question about how the game works ("wait, what does a colour hint do again?") is not an instruction.
_RULE_QUESTION = re.compile(r"^(?:wait )?(?:what|how|why) (?:does|do|did|is|are|was|were|happens)\b")


def _doubts(clause: str) -> bool:
    return bool(_OWN_QUESTION.match(clause) or _RULE_QUESTION.match(clause))


def content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text) if w not in _STOPWORDS and w not in _NEGATIONS]


# A phrase said twice in a row is said once, for emphasis ("never quit never quit", "no no no", "play it, play it"):
# repeating a negation does not cancel it.
_REPEATED = re.compile(r"\b((?:[a-z]+ ){0,3}[a-z]+)(?:[ ,]+\1\b)+")


def split_clauses(text: str) -> list[str]:
    """Clauses with content, conditionals kept whole; pieces without content join a neighbour."""
    clauses: list[str] = []
    scene = ""
    text = _REPEATED.sub(r"\1", text)
    sentences = [part for sentence in _SENTENCES.split(text) for part in _run_on_conditionals(sentence)]
    for sentence in _merge_short_sentences(sentences):
        sentence = _CONTRAST.sub("", sentence).strip()
        if _SCENE.match(sentence):
            scene = f"when {sentence}, "
            continue
        sentence, scene = scene + sentence, ""
        if _ELABORATION.match(sentence.strip()) and clauses:
            clauses[-1] = f"{clauses[-1]} {sentence.strip()}"
            continue
        sentence = _join_elaborations(sentence)
        clauses += _sentence_clauses([p.strip() for p in _JOINERS.split(sentence) if p.strip()])
    return _without_restatements([re.sub(r"\s+", " ", c).strip() for c in clauses if content_words(c)])


# A conditional's main verb: an imperative that does not follow a subject or an auxiliary ("when I hint a card PLAY
# it"; in "if you play a card" the verb belongs to the condition).
_MAIN_VERBS = {"play", "discard", "keep", "hold", "save", "pick", "select", "choose", "take", "quit", "stop", "copy",
               "throw", "leave", "end", "protect", "retain", "grab"}
_SUBJECTS = {"i", "you", "we", "they", "he", "she", "it", "partner", "alice", "bob", "can", "could", "will", "would",
             "to", "should", "must", "may", "might", "not", "do", "does", "did", "never", "cannot", "u", "me", "that", "who"}
_OPENER = re.compile(r"\b(?:when|whenever|if)\b")


def _complete_conditional(text: str) -> bool:
    """"when I give you a number hint play them": a condition followed by a main verb of its own."""
    words = text.split()
    if not words or words[0] not in ("when", "whenever", "if"):
        return False
    return any(w in _MAIN_VERBS and i >= 3 and words[i - 1] not in _SUBJECTS for i, w in enumerate(words))


def _run_on_conditionals(sentence: str) -> list[str]:
    """A run-on sentence of conditionals with no punctuation ("when I give you a number hint play them when I give
    you a colour hint hold them") is one sentence per conditional: a "when"/"if"/"whenever" after a complete
    conditional starts a new one when what follows it is a complete conditional too. "play it when you can" and
    "when I hint a card play it if you know it plays" stay whole (no main verb after the second opener)."""
    starts = [m.start() for m in _OPENER.finditer(sentence)]
    if len(starts) < 2:
        return [sentence]
    parts, begin = [], 0
    for here, after in zip(starts[1:], starts[2:] + [len(sentence)]):
        head, tail = sentence[begin:here].strip(" ,"), sentence[here:after].strip(" ,")
        if _complete_conditional(head) and _complete_conditional(tail):
            parts.append(head)
            begin = here
    return parts + [sentence[begin:]]


_KEEP_WORDS = re.compile(r"\b(?:keep\w*|retain\w*|hold\w*|hang on|save\w*|protect\w*)\b")


def _first_verb(clause: str) -> str | None:
    return next((w for w in polarity(clause)[1].split() if w in _VERBS), None)


def _without_restatements(clauses: list[str]) -> list[str]:
    """Clauses that only restate their neighbour by contrast are left out:
    - "do not discard your newest card, discard your oldest": a negated clause followed by the same verb on
      another object is the contrast that introduces it;
    - "play only if you know; otherwise do not play": "otherwise not" after "only if" says what "only" said;
    - "retain the touched cards; do not play or discard them": a negated clause about "them" after a clause
      that keeps them says what keeping means."""
    out: list[str] = []
    for i, clause in enumerate(clauses):
        negated, core = polarity(clause)
        nxt = clauses[i + 1] if i + 1 < len(clauses) else None
        prev = out[-1] if out else None
        if negated and nxt and not polarity(nxt)[0] and _first_verb(clause) and _first_verb(clause) == _first_verb(nxt) \
                and set(content_words(core)) - set(content_words(nxt)) and not _CONDITIONAL_START.match(clause):
            continue
        if prev and negated and re.match(r"^(?:otherwise|else)\b", clause) and re.search(r"\bonly\b", prev) \
                and set(content_words(core)) - {"otherwise", "else"} <= set(content_words(prev)):
            continue
        if prev and negated and not polarity(prev)[0] and _KEEP_WORDS.search(prev) and _contrast(clause, prev):
            continue
        out.append(clause)
    return out


def _merge_short_sentences(sentences: list[str]) -> list[str]:
    """"GIVE. ME. HINTS." and "quit. now.": sentences of at most one content word (and one or two words)
    join the next one."""
    out: list[str] = []
    carry = ""
    for sentence in sentences:
        sentence = sentence.strip()
        if not sentence:
            continue
        if carry and content_words(carry) and _CONDITIONAL_START.match(sentence):
            out.append(carry)   # "Copy me. If I repeat your last ball, quit.": a rule, then a conditional rule
            carry = ""
        joined = f"{carry} {sentence}".strip()
        if len(joined.split()) <= 2 and len(content_words(joined)) <= 1 and not _RULE_MARKER.search(joined):
            carry = joined
            continue
        carry = ""
        out.append(joined)
    if carry:
        if out and not content_words(carry):
            out[-1] = f"{out[-1]} {carry}"
        elif out and len(carry.split()) == 1 and len(out[-1].split()) <= 2:
            out[-1] = f"{out[-1]} {carry}"
        else:
            out.append(carry)
    return out


def _join_elaborations(sentence: str) -> str:
    """"..., for example your oldest card" and "like 1, 3 and 5" stay with the clause before them."""
    match = re.search(r",?\s*\b(?:for example|like|for instance)\b", sentence)
    if match is None or match.start() == 0:
        return sentence
    head, tail = sentence[:match.start()], sentence[match.end():]
    end = re.search(r",\s*(?:and\s+)?(?:then|so|but)\b", tail)
    rest = re.sub(r"^,\s*and\s+", ", ", tail[end.start():]) if end else ""
    tail = re.sub(r",|\band\b", " ", tail[:end.start()] if end else tail)
    return f"{head} for example {tail}{rest}"


def _sentence_clauses(pieces: list[str]) -> list[str]:
    clauses: list[str] = []
    pending = ""   # a conditional ("if I hint a colour") waiting for its main clause, or a piece too short
    for piece in pieces:
        opens_condition = bool(_CONDITIONAL_START.match(piece)) and " then " not in f" {piece} "
        if pending and _KIND_ALTERNATIVES.match(piece):
            pending = f"{pending} {piece}"
            continue
        if clauses and not pending and _corrects(piece, clauses[-1]):
            clauses[-1] = _corrected(piece, clauses[-1])
            continue
        if clauses and not pending and _continues(piece, clauses[-1]):
            clauses[-1] = _joined(clauses[-1], piece)
            continue
        if clauses and not pending and _contrast(piece, clauses[-1]):
            continue
        if not pending and _SCENE.match(piece):   # "I call a number, you take the next one up": a scene, then its rule
            pending = f"when {piece}"
            continue
        piece = _elided_verb(piece, clauses[-1] if clauses else "")
        piece = f"{pending} {piece}".strip()
        if opens_condition and not pending:
            pending = piece
        elif piece.startswith("then ") and clauses and _CONDITIONAL_START.match(clauses[-1]):
            clauses[-1] = f"{clauses[-1]} {piece}"
            pending = ""
        elif _too_short(piece, bool(clauses)):
            if clauses:
                clauses[-1] = f"{clauses[-1]} {piece}"
                pending = ""
            else:
                pending = piece
        else:
            clauses.append(re.sub(r"^then ", "", piece))
            pending = ""
    if pending:
        short = len(content_words(pending)) <= 1 and not re.match(r"^(?:otherwise|else|in (?:every|any|all) other)", pending)
        if clauses and (not content_words(pending) or short):
            clauses[-1] = f"{clauses[-1]} {pending}"
        else:
            clauses.append(pending)
    return clauses


def _corrects(piece: str, previous: str) -> bool:
    """"do not keep the cards I hint, play them": an affirmative piece about "them"/"it" that starts with a verb of its
    own, after a clause that negates another verb, is the instruction; the negated clause only says what it is not."""
    words = piece.split()
    negated, core = polarity(previous)
    verb = _first_verb(previous)
    return (bool(words) and words[0] in _VERBS and not polarity(piece)[0] and negated and verb is not None
            and verb != words[0] and bool(re.match(r"^(?:do not|never|not|no)\b", previous))
            and bool(_PRONOUN.search(piece)) and len(content_words(piece)) <= 2)


def _corrected(piece: str, previous: str) -> str:
    """The piece, its pronoun standing for the object of the negated clause: "play the cards I hint"."""
    core = polarity(previous)[1].split()
    verb = _first_verb(previous)
    thing = " ".join(core[core.index(verb) + 1:]) if verb in core else ""
    return _PRONOUN.sub(thing, piece, count=1) if thing else piece


def _continues(piece: str, previous: str) -> bool:
    """Whether `piece` goes on with the clause before it: "in which case ...", "whether of colour or of
    rank", a list of numbers ("first 1", "next 2"), or a short piece about "it"/"them" ("so keep them safe")."""
    words = content_words(piece)
    if _CONTINUATION.match(piece) or _ELABORATION.match(piece) or _KIND_ALTERNATIVES.match(piece):
        return True
    if len(words) <= 2 and _ARITHMETIC.match(piece):
        return True
    if words and all(w.isdigit() or w in _SEQUENCE or w in NUMBER_WORDS for w in _WORD.findall(piece)):
        return True
    negated, previous_negated = polarity(piece)[0], polarity(previous)[0]
    return bool(_PRONOUN.search(piece)) and len(words) <= 3 and (not negated or previous_negated) and not \
        re.search(r"\b(?:if|when|whenever|unless|once|until)\b", piece)


_HANDLING = {"play", "playing", "discard", "discarding", "throw", "away", "toss", "dump", "bin", "ditch", "trash", "use"}


def _contrast(piece: str, previous: str) -> bool:
    """"keep it, do not play it": a negated piece about "it" after a clause that is not negated restates that
    clause by contrast, and is left out of the reading; so does "keep those cards, do not discard or play", a
    negated piece of nothing but the two moves keeping excludes (play and discard), with its object left out, after
    a clause that keeps ("keep hinted cards, never discard" is two rules: discarding alone is not what keeping excludes)."""
    if not polarity(piece)[0] or polarity(previous)[0] or re.search(r"\b(?:if|when|unless)\b", piece):
        return False
    negated_verbs = {w for w in _after_negation(piece) if w in _VERBS}
    if _first_verb(previous) in negated_verbs:   # "play the cards I hint, but do not play them": a contradiction
        return False
    if bool(_PRONOUN.search(piece)) and len(content_words(piece)) <= 3:
        return True
    words = set(content_words(polarity(piece)[1]))
    both = bool(words & {"play", "playing"}) and bool(words - {"play", "playing"})
    return both and words <= _HANDLING and bool(_KEEP_WORDS.search(previous))


def _after_negation(clause: str) -> list[str]:
    """The words that follow the first negation word of a clause ("keep them, do not play them" -> play them)."""
    words = clause.split()
    at = next((i for i, w in enumerate(words) if w in _NEGATIONS), len(words))
    return words[at + 1:]


def _elided_verb(piece: str, previous: str) -> str:
    """"play colour-hinted cards, but not rank-hinted ones": a piece that starts with "not" and has no verb
    of its own takes the verb that starts the clause before it."""
    words = piece.split()
    first = previous.split()[:1]
    if words[:1] == ["not"] and first and first[0] in _VERBS and not _VERBS & set(words):
        return " ".join(["not", first[0]] + words[1:])
    return piece


def _joined(previous: str, piece: str) -> str:
    """`piece` appended to the clause before it; a negation both share is said once ("do not play and do
    not discard it" is one negated clause)."""
    if polarity(piece)[0] and polarity(previous)[0]:
        piece = polarity(piece)[1]
    return f"{previous} {piece}"


def _too_short(piece: str, after_a_clause: bool) -> bool:
    """A piece without content, or one content word after a clause ("... and stop"), joins its neighbour;
    a short negated piece ("... and never quit") stands alone."""
    words = content_words(piece)
    marked = any(w in _NEGATIONS or w == "always" for w in piece.split())
    return not words or (len(words) == 1 and after_a_clause and not marked)


def polarity(clause: str) -> tuple[bool, str]:
    """(negated, core): an odd number of negation words negates ("neither ... nor" counts once); the core is
    the clause without them. "stop"/"quit" before a verb in -ing negates it ("stop copying me")."""
    words = clause.split()
    cues_at = [i for i, w in enumerate(words)
               if w in _NEGATIONS or (w in ("stop", "quit") and i + 1 < len(words) and words[i + 1].endswith("ing")
                                      and not _stops_the_game(words[i + 1:]))]
    count = len(cues_at) - (1 if "neither" in words and "nor" in words else 0)
    drop = set(cues_at) | {i - 1 for i in cues_at if i > 0 and words[i - 1] in ("do", "does", "did", "should", "will", "can")}
    core = " ".join(w for i, w in enumerate(words) if i not in drop) or clause
    return count % 2 == 1, core


_ACTIVITY = {"playing", "picking", "selecting", "choosing", "taking", "going", "continuing", "participating"}


def _stops_the_game(rest: list[str]) -> bool:
    """"stop playing", "stop picking now", "quit playing the game": stopping the game's own activity, with no
    object of its own, is quitting, not the negation of a convention ("stop copying me", "stop picking my number")."""
    after = rest[1:3]
    return rest[0] in _ACTIVITY and (not after or after[0] in ("now", "then", "immediately", "altogether", "there",
                                                                 "at", "after", "when", "if", "once", "for")
                                     or after == ["the", "game"])


class _Speller:
    """Nearest domain word by edit distance (symmetric deletes, verified with optimal string alignment)."""

    def __init__(self, words: set[str]):
        self._index: dict[str, set[str]] = defaultdict(set)
        for word in words:
            for variant in _deletes(word, 2):
                self._index[variant].add(word)

    def correct(self, word: str) -> str | None:
        if len(word) < 3:
            return None
        limit = 1 if len(word) <= 4 else 2
        if len(word) == 3:   # too short to tell a typo from another word, unless two letters swapped
            return next((w for w in self._index.get(word[:1] + word[2:], ()) if sorted(w) == sorted(word)), None)
        candidates = {c for v in _deletes(word, limit) for c in self._index.get(v, ())}
        scored = sorted((_osa(word, c), -len(c), c) for c in candidates)
        scored = [s for s in scored if s[0] <= limit]
        return scored[0][2] if scored else None


def _deletes(word: str, depth: int) -> set[str]:
    out, frontier = {word}, {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1:] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


def _osa(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, adjacent transpositions."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]
