"""Phrase patterns for the coder, compiled once. They match normalised text
(see :func:`skills.text.normalise`): "you are", "do not", no curly quotes.

Each group is named for the MITI 4.2.1 code it signals. Patterns describe
sentence shapes ("you + should", "i wonder + wh-word") rather than whole
sentences, so they carry over to turns nobody wrote down.
"""

from __future__ import annotations

import re

from skills.lexicon import GREETING_PATTERNS, SYMPATHY_PATTERNS
from textprep.prefilter import Prefiltered


def _joined(*patterns: str) -> str:
    return "|".join(f"(?:{pattern})" for pattern in patterns)


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile(_joined(*patterns))


_INVITE_VERB = (
    r"tell|describe|explain|talk|say|share|walk|elaborate|expand|fill me in|give me|"
    r"help me (to )?understand|paint"
)

GREETING = _any(*GREETING_PATTERNS)
SYMPATHY = _any(*SYMPATHY_PATTERNS)

# MITI: "Tell me more" is an open question although it has no question form.
OPEN_INVITATION = _any(
    rf"^(please )?({_INVITE_VERB})\b",
    r"^i am (really |just |also )?(curious|interested)\b",
    r"^i would (really )?(like|love) to (hear|know|understand|learn)\b",
    r"^i want to (hear|know|understand)\b",
    r"^(i wonder|i am wondering|i was wondering) (what|how|why|about|where|when|who)\b",
    rf"^(i wonder|i am wondering|i was wondering) if you (could|would|might|can) ({_INVITE_VERB})",
)
# "Can you tell me more?" asks for a story, not a yes or no.
AUX_INVITATION = re.compile(rf"^(can|could|would|will) you (\w+ ){{0,3}}?({_INVITE_VERB})\b")
WH_CLOSED = _any(
    r"^how (many|much|long|often|old|far|big|soon|frequently)\b",
    r"^what (time|age|year|day|date|month|number|dose)\b",
    r"^what is your (name|age|address|date of birth)\b",
    r"^(when|which|who|whom|whose)\b",
    r"^where\b(?! (would|do|does|did|could|can) you (like|want|see|go from|start|think))",
)
# A wh-question offering a choice ("what's harder, the nights or the mornings?").
CHOICE = re.compile(r"\bor\b(?! (something|anything|not|so|whatever|what|how|why|else)\b)")
TAG_QUESTION = re.compile(
    r"(^|,|\s)(right|is that right|am i right|correct|is that correct|yeah|no|okay|huh|"
    r"is not it|was not it|are not you|do not you|did not you|have not you|were not you|"
    r"is that it|does that (make sense|sound right|fit)|would that be fair|is that fair|"
    r"is that true)\s*[?.!]*$"
)
# "Down how?", "Hard in what way?", "A burden to whom?"
FINAL_WH = re.compile(
    r"\b(how|what way|why|what for|like what|such as|whom|who|when|where|"
    r"(of|about|with|from|for|in|on|at|by) what)\s*\?*$"
)
# MITI: a scaling question asks for a number, so it is closed whatever its wh-word.
SCALING = re.compile(r"\bscale of\b|\b(1|one) to (10|ten)\b|\bout of (10|ten)\b")
# Typed chat runs clauses together: "ok that makes sense so what would you do next".
RUN_ON_QUESTION = re.compile(
    r"\b(?:so|and|but|then|okay)\s+(?=(?:what|how|why|where|when|who|do|does|did|are|is|can|"
    r"could|would|have)\b)"
)
CHECKING = re.compile(r"^(you (said|mentioned|told me|say|mean|meant)|did you say)\b")

REFLECTIVE_STEM = _any(
    r"\b(sounds|sounded|seems|seemed|looks|feels|felt) (like|as (if|though)|that)\b",
    r"\bwhat i am hearing\b|\bwhat i hear\b|\bi am hearing\b|\bi hear (that|you saying)\b",
    r"\byou are (saying|telling me)\b|\bwhat you are saying\b",
    r"\bpart of you\b|\bon (the )?one hand\b|\bon the other hand\b",
    r"\bi (get|have) the (sense|feeling|impression)\b|\bi (imagine|sense|suspect)\b",
    r"\bi am guessing\b|^(i wonder|i am wondering) (if|whether)\b",
    r"\byou (feel|felt|are feeling|have been feeling|were feeling)\b",
    r"\b(that|it|this) (must|might|could) (be|have been|feel|have felt)\b",
    r"^(that|this|it) (sounds|sounded|seems|seemed) (?!(good|great|fine|okay|like a plan|"
    r"interesting|nice|right)\b)\w+",
    r"\bno wonder\b|\bcan not have been easy\b|\bit makes sense that you\b",
)
COMPLEX_CUE = _any(
    r"\bpart of you\b|\bon (the )?one hand\b|\bon the other\b|\bat the same time\b|\band yet\b",
    r"\beven (though|if|when|as)\b|\balthough\b|\bdespite\b|\bin spite of\b",
    r"\b(it is|it was|it has been|that is) like\b|\bas if\b|\bas though\b",
    r"\bi wonder (if|whether)\b|\bi (imagine|suspect|sense)\b|\bi get the (sense|feeling)\b",
    r"\b(must|might) (have )?\w+\b|\bno wonder\b|\bcan not have been easy\b",
    r"\b(which|that|it) (tells|says to|suggests to) me\b",
    r"\bmakes sense that\b|\byou are being\b",
    r"\bbecause\b|\bwhich (means|is why)\b|\bthat is why\b|\bso that\b",
    r"\b(leaves|left|makes|made|keeps|kept) you\b",
    r"\b(brave|bravery|courage|strength|strong|determined|determination|committed|resilient)\b",
)
# Values add meaning only when the client did not name the value themselves.
VALUE_CUE = re.compile(r"\b(matters?|important|means (a lot|so much|everything)|values?)\b")
AMPLIFIERS = frozenset({"never", "always", "nothing", "nobody", "completely", "totally"})

SUMMARY = _any(
    r"\bso far\b|\bto (sum|summari[sz]e|recap)\b|\bin summary\b|\bjust to recap\b",
    r"\blet me (just )?(sum|summari[sz]e|recap|pull|bring|put)\b",
    r"\blet me (just )?(see|check|make sure) (if |that )?i (have |am )?(got|get|understand)",
    r"\b(putting|pulling|bringing) (it|this|that|all (of )?(this|that|it)) together\b",
    r"\byou have (told|shared with|mentioned to) me\b|\bwhat i have heard\b",
    r"\bif i (have )?(got|understood) (this|it|you|that) right\b",
)

_ACHIEVEMENT = r"(step|achievement|accomplishment|change|effort|progress|start|decision|win|move)"
AFFIRMATION = _any(
    r"\b(that|it|this) (took|takes|must have taken|shows|showed) (a lot of |real |some |so much )?"
    r"(courage|strength|guts|commitment|determination|effort|honesty|bravery|work)\b",
    r"\byou (have been |are |were |have )(really |clearly |so |very |obviously )?(brave|strong|"
    r"resilient|determined|committed|resourceful|courageous|honest|persistent|insightful|capable)\b",
    r"\byou (have )?(really |clearly )?(worked|tried|pushed) (really |so |very )?hard\b",
    r"\byou (have |have been )?(clearly |really )?put(ting)? (in )?(a lot|so much|a great deal|"
    r"real effort)\b",
    r"(^|[,;.!] ?)(well done|good for you|good job|good on you|great job|nice work|nicely done|"
    r"way to go)\b",
    rf"\b(that|this|it) (is|was|has been|sounds like) (a |such a )?(really |very |so |truly )?"
    rf"(great|fantastic|amazing|wonderful|brilliant|excellent|awesome|impressive|huge|big|real|"
    rf"important|positive|good) {_ACHIEVEMENT}\b",
    r"\b(that|this|it) is (really |so |truly )?(great|fantastic|amazing|wonderful|brilliant|"
    r"excellent|awesome|impressive)( news)?\W*$",
    r"\bi (really )?(appreciate|admire|respect) (your|how you|the way you)\b",
    r"\bi am (really |so |very )?(impressed|proud)\b|\byou (should|can) be (really |very )?proud\b",
    r"\byou (managed|stuck with|kept going|followed through|pulled through)\b",
    r"\byour (commitment|determination|courage|honesty|strength|persistence|resilience)\b",
    r"\byou (really |clearly |obviously )?care (a lot |so much |deeply )?(about|for)\b",
)

JUDGEMENT = _any(
    r"\byou (should|ought to|could) (not )?have\b",
    r"\bwhy (did|could) not you\b|\bwhy (would|did) you (ever|even)\b|\bhow could you\b",
    r"\b(that|this|it) (is|was) (really |so |very |pretty |just |completely |totally )?(wrong|"
    r"stupid|ridiculous|crazy|selfish|irresponsible|silly|pathetic|unacceptable|childish|"
    r"immature|lazy|dumb|disgusting|shameful|not (okay|acceptable|right|normal|an excuse|"
    r"fair (on|to) \w+))\b",
    r"\byou are (being |just |clearly |obviously |so |really )*(lazy|selfish|in denial|an "
    r"alcoholic|an addict|irresponsible|ridiculous|dramatic|overreacting|lying|stubborn|childish|"
    r"immature|weak|pathetic|manipulative|exaggerating)\b",
    r"\bmak(e|es|ing) excuses\b|\bin denial\b|\bno excuse\b|\byou can not just\b",
    r"\bnot (trying|working|making an effort) (hard )?enough\b",
    r"\byour (own )?fault\b|\byourself to blame\b|\bbrought (this|it) on yourself\b",
    r"\bwhat did you expect\b|\bshame on you\b|\bgrow up\b|\bget over it\b|\bsnap out of it\b",
    r"\bdo not you think (you|it is time)\b|\b(take|taking|took) (some )?responsibility\b",
    r"\bit is not (that|so|really) (bad|hard|big a deal)\b|\bthat is not a (real )?problem\b",
    r"\byeah right\b|\boh (please|sure|great)\b",
    r"\b(ruins?|ruining|kills?|killing|destroys?|destroying|wrecks?|wrecking) your\b|\bor else\b",
)
SECRETS = _any(
    r"\b(hiding|hide|hid|concealing)\b|\bholding (something |anything )?back\b",
    r"\b(keeping|keep|kept) (\w+ )?(from|secret|to yourself)\b|\bsecrets?\b",
    r"\b(have not|did not|never) (you )?(told|said|shared|mentioned|admitted)\b",
    r"\bnot (telling|told) (me|anyone|anybody|us)\b|\b(ashamed|embarrassed) (of|about)\b",
    r"\bcome clean\b|\bthe (real|whole) (truth|story)\b",
)

# "you should", "you might want to": the student tells the client what to do.
ADVICE = _any(
    r"\byou (really |just |definitely |probably )?(should|ought to|need to|have to|have got to|"
    r"must|would better)\b(?! (be|feel) (really |so |very )?proud)",
    r"\byou (might|may|could) (just |maybe |also |perhaps |always )?(want to|wish to|try|"
    r"consider|think about|look (at|into)|talk|speak|ask|call|go|join|start|stop|get|see|"
    r"write|take|use|set|make|walk|eat|drink|sleep|cut)\b",
    r"\bi (would|will|do|really) (really |strongly )?(suggest|recommend|advise|encourage|urge)\b",
    r"\bmy (advice|suggestion|recommendation)\b|\bi think you (should|need|ought|must)\b",
    r"\bif i were you\b|\bif it were me\b|\bi want you to\b",
    r"\b(it would|it might|it could|it may) (really )?(help|be (good|best|wise|helpful|"
    r"a good idea))",
    r"\b(the best thing|a good idea)\b|\b(one thing|another thing|something) that (helps|works|"
    r"might help|can help|could help|helped)\b",
    r"\b(make sure|remember to|do not forget to|be sure to)\b",
)
# A suggestion phrased as a question is advice, not a question.
ADVICE_QUESTION = re.compile(r"^(why do not you|why not)\b|^how about (you |we )?(try|trying)\b")
# An imperative opening ("try...", "just stop...") is advice when it is not an invitation.
IMPERATIVE_ADVICE = re.compile(
    r"^(just )?(try|stop|start|quit|cut|avoid|consider|call|contact|talk to|speak to|ask|join|"
    r"go to|go and|get (some|a|more|help|out)|keep (a|track)|drink|eat|exercise|write|set|put|"
    r"use|limit|reduce|find|sign up|reach out|look (into|at|for)|do not (drink|smoke|use|go|let|be|"
    r"call|text|eat)|never|always|relax|breathe|sleep|walk|go for|take (a|some|the|up))\b"
    # "exercise is ...", "sleep helps ...": the verb-looking word is the subject.
    r"(?! (is|are|was|were|has|have|had|can|could|will|would|should|seems|sounds|means|helps|"
    r"makes|keeps)\b)"
)
# The advice modal does not count when it reports the client's own sense of obligation
# ("you feel like you have to be perfect").
REPORTED_OBLIGATION = re.compile(
    r"\b(feel|feels|felt|feeling|think|thinks|believe|worry|afraid|told|tell|says|said|"
    r"pressure|expected|expect|like)\b.*\byou (really |just )?(should|ought to|need to|have to|"
    r"must)\b"
)
OPTIONS = _any(
    r"\bsome people\b.*\b(others|other people|some)\b",
    r"\b(a few|several|some|a couple of|two|three|different|other|lots of|many) (options|choices|"
    r"possibilities|ways|approaches|routes|services)\b",
    r"\b(one|another) option\b|\byou could either\b|\bor you could\b|\boptions (are|include)\b",
    r"\bthere is also\b",
)
INFORMATION = _any(
    r"\b(research|studies|study|evidence|guidelines|statistics) (show|shows|suggest|suggests|say|"
    r"says|find|finds|found|tell)\b|^(the )?(guidelines|research|studies|evidence)\b",
    r"\b(a lot of|lots of|many|most|plenty of) (people|clients|parents|students|smokers|"
    r"drinkers)\b",
    r"\b(some|other|many|most) people (find|found|say|notice|report|have found|tell me|tend)\b",
    r"\bit is (very |really |quite |pretty |totally )?(common|normal|usual|typical|recommended|"
    r"natural)\b",
    r"\b(units?|milligrams?|percent|per cent|calories)\b",
    r"\b(confidential|confidentiality|this session|these sessions|our sessions|each session|"
    r"each week|the programme|the program|the service|the clinic)\b",
    r"\b(can|may|will|tends? to|often|usually|typically|generally) (cause|lead|affect|increase|"
    r"reduce|help|make|take|double|trigger|interfere|damage|raise|lower)\b",
    r"\b(is called|is known as|means that)\b|\bis a (kind|type|form|sign|symptom) of\b",
    r"\bwe (will|are going to|usually|normally) (meet|spend|have|start|finish|look at|go over)\b",
    r"\bwe have (about |around )?\w+ (minutes|hours|sessions)\b",
    r"\b(minutes|hours|weeks|months) (a|each|every|per) (day|night|week|month)\b",
)
# The client asked for advice or said yes to hearing it (MITI: advice with permission):
# a turn that is only agreement ("Yes, please.", "Sure, go ahead"), matched at its start
# (:func:`grants_permission`), or one of PERMISSION_GRANTED's phrases anywhere. Apart, as
# one pattern a branch anchored with ``^`` made re try every branch at every position
# of a client's whole reply: 0.41 against 0.08 ms for a 1,875-character one.
AGREEMENT_ONLY = re.compile(
    r"((yes|yeah|yep|sure|okay|alright|please|go ahead|go on|of course|fine|why not|i guess)"
    r"[\s,.!]*)+$"
)
# Prefiltered: read over a client's whole reply, where it mostly finds none of the
# strings a match needs and skips the scan (104 -> 16 us for a 1,875-character reply).
PERMISSION_GRANTED = Prefiltered(
    _joined(
        r"\bgo ahead\b|\bplease do\b|\byes,? please\b",
        r"\b(that|it) would be (great|good|helpful|useful|nice)\b",
        r"\bi would (like|love|appreciate) (that|some|any|to hear|to know)\b",
        r"\bwhat (should|can|could|do) i do\b|\bwhat would you (do|suggest|recommend)\b",
        r"\bwhat do you (suggest|recommend|think i should)\b",
        r"\bany (advice|tips|ideas|suggestions)\b",
        r"\b(can|could) you (give me|help me|tell me what)\b|\bif you were me\b",
        r"\bhow (do|can|could) i\b|\bshould i\b",
    )
)


def grants_permission(normalised: str) -> bool:
    """Whether a client's turn (normalised) asks for advice or agrees to hear it."""
    return bool(AGREEMENT_ONLY.match(normalised) or PERMISSION_GRANTED.search(normalised))


# The student gives the choice back in the same turn (MITI: emphasising autonomy).
AUTONOMY = _any(
    r"\bif (it is|that is|you are) (okay|alright|all right|fine)( with you)?\b",
    r"\bwith your permission\b|\bif you are (interested|open)\b|\bif you (like|want|wish)\b",
    r"\b(it is|that is|this is) (totally |entirely |completely |really )?(up to you|your "
    r"(call|choice|decision))\b",
    r"\byou know (yourself|your \w+|what works for you) best\b",
    r"\btake (it|what fits|what works) or leave it\b|\bsee what (fits|works)\b",
    r"\bmay or may not (work|fit|suit|be right)\b|\bsince you asked\b|\bfeel free to\b",
)
