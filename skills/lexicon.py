"""Word lists for the coder. Patterns match text already passed through
:func:`skills.text.normalise` (lower case, "you're" spelled "you are", "don't"
spelled "do not"), so each phrase is written once.

The lists are deliberately general (word classes, sentence openings) rather
than whole sentences: the labelled set in ``tests/skills`` is a check, not a
phrase book.
"""

from __future__ import annotations


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


CHAT_SPELLINGS: dict[str, str] = {
    "u": "you",
    "r": "are",
    "ur": "your",
    "ya": "you",
    "ok": "okay",
    "k": "okay",
    "kk": "okay",
    "cuz": "because",
    "coz": "because",
    "pls": "please",
    "plz": "please",
    "wat": "what",
    "wot": "what",
    "y": "why",
    "thx": "thanks",
    "ty": "thanks",
    "hru": "how are you",
    "idk": "i do not know",
    "tbh": "to be honest",
    "gonna": "going to",
    "wanna": "want to",
    "gotta": "got to",
}

# Irregular forms, and a few near-synonyms that a reflection swaps for the
# client's word ("job" -> "work"), folded to one stem so the overlap sees them.
STEM_ALIASES: dict[str, str] = {
    "lost": "lose",
    "losing": "lose",
    "felt": "feel",
    "told": "tell",
    "said": "say",
    "says": "say",
    "went": "go",
    "gone": "go",
    "left": "leave",
    "thought": "think",
    "made": "make",
    "kids": "kid",
    "children": "kid",
    "child": "kid",
    "mum": "mother",
    "mom": "mother",
    "mummy": "mother",
    "dad": "father",
    "daddy": "father",
    "drank": "drink",
    "drunk": "drink",
    "ate": "eat",
    "slept": "sleep",
    "fought": "fight",
    "bought": "buy",
    "brought": "bring",
    "kept": "keep",
    "quit": "quit",
    "stopped": "stop",
    "wife": "partner",
    "husband": "partner",
    "boyfriend": "partner",
    "girlfriend": "partner",
    "scared": "scare",
    "scary": "scare",
    "job": "work",
    "working": "work",
}

STOPWORDS: frozenset[str] = _word_set(
    """
    a about above after against all also am an and any anyone anything are around as at
    back be because been before being below between both but by can could did do does doing
    done down during each either else even ever every everyone everything few for from further
    get gets getting got had has have having he her here hers herself him himself his how i if
    in into is it its itself just kind kinda know like lot lots maybe me might more most much must
    my myself no nor not now of off oh ok okay on once one only or other our ours out over own
    perhaps pretty quite rather really right same she should so some something sort still such
    than that the their theirs them themselves then there these they thing things this those
    though through to too um uh under until up us very was we well were what when where whether
    which while who whom why will with would yeah yes yet you your yours yourself yourselves
    mm hmm mhm sure thanks thank please anyway actually basically literally totally
    feel feels feeling felt seem seems seemed sound sounds sounded say said tell told
    think thinking mean means go going let make makes made way bit always never
    """
)

WH_WORDS: frozenset[str] = frozenset(
    {"what", "how", "why", "when", "where", "who", "whom", "whose", "which"}
)
AUXILIARIES: frozenset[str] = _word_set(
    """do does did are is was were am have has had can could would will should shall may
    might"""
)
# Words that can follow a fronted auxiliary in a yes/no question ("do YOU", "is IT").
SUBJECTS: frozenset[str] = _word_set(
    """you i we it that this there he she they your my his her their anyone anybody anything
    someone somebody something things everything everyone people the a any not"""
)
# Adjectives that make "how ..." an exclamation, not a question ("How awful.").
EXCLAMATION_ADJECTIVES: frozenset[str] = _word_set(
    """hard awful terrible difficult frustrating scary painful sad lonely exhausting tough
    great wonderful brave amazing lovely nice exciting horrible upsetting stressful brilliant
    fantastic good kind strong"""
)
# Turns that only keep the client talking ("mm-hm", "I see"): MITI leaves them uncoded.
FACILITATION_WORDS: frozenset[str] = _word_set(
    """mm mmm hm hmm hmmm mhm mhmm uh huh okay alright right yeah yes yep sure ah oh wow
    really true sorry pardon cool great fine good no nope absolutely totally exactly indeed
    gotcha understood"""
)
FACILITATION_PHRASES: frozenset[str] = frozenset(
    {
        "i see",
        "got it",
        "go on",
        "keep going",
        "carry on",
        "i understand",
        "i hear you",
        "fair enough",
        "that is true",
        "makes sense",
        "that makes sense",
        "i get it",
        "i know",
    }
)

# Emotion words. A reflection naming one the client did not use adds feeling
# (MITI: complex); any of them aimed at the client counts towards empathy.
FEELING_WORDS: frozenset[str] = _word_set(
    """afraid alone angry anger anxious anxiety ashamed shame bitter betrayed confused
    depressed desperate devastated disappointed discouraged embarrassed exhausted fear
    fed frightened frightening frustrated frustrating frustration grief guilt guilty heartbroken
    helpless hopeless hurt hurting ignored invisible irritated isolated jealous lonely
    miserable miss nervous numb overwhelmed overwhelming pain painful panic proud rejected
    relieved resentful sad sadness scared scare scares scary stressed stress stressful
    stuck terrified tired torn trapped unheard upset upsetting worried worry worries worrying
    hopeful excited happy glad grateful unsure uncertain ambivalent abandoned
    unappreciated unsupported insecure defeated drained discouraging disappointing
    heartbreaking terrifying embarrassing exhausting depressing isolating"""
)

# Verbs and adjectives that make "you ..." a statement about the client's inner life.
INNER_STATE: frozenset[str] = _word_set(
    """feel feeling felt want wanted wish wishing need hope hoping worry worried miss missing
    care caring love loving hate fear doubt believe think thinking seem sound carry carrying
    struggle struggling value wonder sure certain ready tired done sick fed torn"""
)

GREETING_PATTERNS = (
    r"^(hi|hello|hey|hiya|good (morning|afternoon|evening))\b( there)?( \w+)?$",
    r"^(welcome|welcome back|nice to (meet|see) you( too)?|good to (meet|see) you( too)?)\b",
    r"^(thank you|thanks)( so much| very much)?( for| you too|$)",
    r"^(bye|goodbye|see you|take care|talk soon|have a (good|great|nice)|all the best)\b",
    r"^(come (on )?in|have a seat|sit (down|wherever)|make yourself comfortable)",
    r"^(you too|same to you|no problem|no worries|of course|not at all)$",
    r"^(congratulations|congrats)\b",
    r"^(that is|it is) (okay|ok|alright|all right|fine)$",
    r"^(take your time|there is no rush|no rush)\b",
)
# Clauses a student puts in front of the real content ("okay, so what...").
LEAD_INS = _word_set(
    """okay alright right so and but well now then um uh hmm mm oh yeah yes sure also plus
    anyway ah hey hi hello please"""
)

SYMPATHY_PATTERNS = (
    r"\bi am (so |really |very |truly )?sorry\b",
    r"\bi can (only )?imagine\b",
    r"\bi can (see|understand) (why|how)\b",
    r"\b(that|it) makes (a lot of |total )?sense\b",
    r"\bno wonder\b",
    r"\bof course you\b",
    r"\bi hear you\b",
    r"\b(that|it|this) (sounds|must be|must have been|must feel|seems) (so |really |very |"
    r"incredibly |pretty |quite )?(hard|tough|difficult|rough|awful|horrible|heavy|"
    r"overwhelming|exhausting|draining|lonely|scary|painful|upsetting|frustrating|stressful)",
    r"\bcan not have been easy\b|\bis not easy\b|\bcan not be easy\b",
    r"\b(that|it|this) is a (really |very |so )?(tough|hard|difficult|rough|awful|horrible|"
    r"painful|scary|lonely) (spot|situation|place|position|time|thing)\b",
    r"\b(that|it|this) must (have )?(hurt|sting|stung|suck|sucked)\b",
    r"^(how|so|that is so|that is really) (awful|terrible|horrible|sad|painful|frightening|scary|"
    r"upsetting|hard|difficult|tough|rough|frustrating|lonely|exhausting)\b",
)
