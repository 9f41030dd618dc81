"""How each conversational style sounds: the small talk around the client's content.

Each pool is a slot of a reply (the lead before an answer, the tail after it, the
reaction to advice...) with alternatives per style. The composer picks one
alternative per slot, deterministically, and never a combination it has said
before. ``{name}``, ``{student}`` and ``{topic}`` are filled in by the composer.
No line mentions anything about the client that the profile does not say.
"""

from __future__ import annotations

from llm.base import ConversationStyle

Pool = dict[ConversationStyle, tuple[str, ...]]

#: After a reflection or empathy, before the elaboration.
AGREE: Pool = {
    "plain": ("Yeah.", "Yes, that's it.", "Mm, I think so.", "That's right.", "Yeah, pretty much."),
    "upset": (
        "Yeah, well.",
        "Too right.",
        "Yes. Obviously.",
        "Yeah. It's rubbish.",
        "Pretty much.",
    ),
    "verbose": (
        "Yes, exactly, that's exactly it.",
        "Yeah, honestly, that's a big part of it.",
        "Oh, absolutely, and it's more than that really.",
        "Yes, you've hit the nail on the head there.",
    ),
    "reserved": ("Mm.", "I guess.", "Maybe.", "Sort of.", "Yeah."),
    "tangent": ("Yeah, I suppose.", "Mm, yeah.", "Right, yes.", "Yes, that's true."),
    "pleasing": (
        "Yes, exactly, you've got it.",
        "Oh yes, that's so true.",
        "You're right, that's it exactly.",
        "Yes! Sorry, yes, that's it.",
    ),
}
#: Before answering an open question.
OPEN: Pool = {
    "plain": ("Well...", "Um, okay.", "Hmm. Okay.", "Where do I start.", ""),
    "upset": ("Honestly?", "Look.", "Ugh.", "Where do I even start.", ""),
    "verbose": (
        "Oh, gosh, where do I start.",
        "Well, it's a long story, really.",
        "Okay, so, um, how do I put this.",
        "Right, well, there's quite a lot, actually.",
    ),
    "reserved": ("Um.", "Well.", "I don't know.", ""),
    "tangent": ("Oh, well...", "Right, so...", "Um, okay.", ""),
    "pleasing": ("Oh, of course, yes.", "Sure, I'm happy to.", "Okay, yes, good question.", ""),
}
#: After an answer.
TAIL: Pool = {
    "plain": (
        "",
        "It's been hard.",
        "That's about it.",
        "I don't really know what to do about it.",
    ),
    "upset": (
        "It's doing my head in.",
        "I'm sick of it, honestly.",
        "It's just not fair.",
        "And nobody gets it.",
        "",
    ),
    "verbose": (
        "It's a lot, you know?",
        "I think about it all the time, honestly.",
        "Sorry, I'm going on a bit.",
        "I don't know if that makes sense, but that's how it is.",
    ),
    "reserved": ("", "That's it.", "Not much else to say."),
    "tangent": ("", "Anyway.", "Where was I?"),
    "pleasing": (
        "Is that the kind of thing you mean?",
        "I hope that makes sense.",
        "Sorry, am I doing this right?",
        "Is that okay?",
    ),
}
#: A second piece of detail after a reflection ("more detail").
MORE: Pool = {
    "plain": ("And it's not just that.", "There's more to it, too.", "Also,"),
    "upset": ("And on top of that,", "And another thing.", "Plus,"),
    "verbose": ("And then on top of everything else,", "And it's not only that, either.", "Also,"),
    "reserved": ("",),
    "tangent": ("Oh, and", "Also,"),
    "pleasing": ("And, um, also,", "Oh, and I should say,"),
}
#: Before a short answer to a closed question: no yes or no, the profile line says which.
SHORT: Pool = {
    "plain": ("Mm.", "Well.", "Um.", "Hm."),
    "upset": ("Why?", "So?", "Well.", "What does it matter?"),
    "verbose": ("Oh, well, um.", "Hm, well, good question.", "Right, so."),
    "reserved": ("Mm.", ""),
    "tangent": ("Um.", "Well.", "Oh."),
    "pleasing": ("Oh, um, well.", "Good question.", "Oh! Um."),
}
#: A closed question the profile does not answer.
UNSURE: Pool = {
    "plain": ("Not really.", "Sometimes.", "I'm not sure.", "Hard to say.", "Not that I know of."),
    "upset": ("No. Why?", "Does it matter?", "Not really, no.", "What's that got to do with it?"),
    "verbose": (
        "Hmm, not really, no, I wouldn't say so.",
        "Sometimes, I suppose, it depends on the day.",
        "I'm honestly not sure, I'd have to think about it.",
    ),
    "reserved": ("No.", "Not really.", "Dunno.", "Maybe."),
    "tangent": ("Not really. Well, sometimes.", "Hm, not sure.", "I don't think so."),
    "pleasing": (
        "Um, I don't think so? Sorry.",
        "Maybe? I'm not sure, sorry.",
        "Not really, sorry.",
    ),
}
#: A closed question asking for a fact ("How long...?") the profile does not answer.
NOT_SURE: Pool = {
    "plain": ("Hard to say.", "I'm not sure, exactly.", "I don't really know."),
    "upset": ("Does it matter?", "No idea.", "Why does that matter?"),
    "verbose": (
        "Oh, I'd have to think about that, honestly, I'm not sure.",
        "Hm, it's hard to pin down, to be honest.",
    ),
    "reserved": ("Dunno.", "Not sure."),
    "tangent": ("Hm, good question. Not sure.", "I don't really know."),
    "pleasing": ("Oh, um, I'm not sure, sorry.", "Sorry, I don't really know."),
}
#: Judgement: defensiveness.
DEFEND: Pool = {
    "plain": (
        "That's not really fair.",
        "You don't know what it's like.",
        "I'm doing my best, okay?",
        "I didn't come here to be judged.",
    ),
    "upset": (
        "Wow. Thanks a lot.",
        "Are you serious? You have no idea.",
        "Don't lecture me.",
        "That's easy for you to say.",
    ),
    "verbose": (
        "I mean, that's a bit harsh, isn't it? You don't know everything that's been going on.",
        "I know how it looks, but it's not as simple as that, honestly.",
        "Okay, that stings a bit. I am trying, you know, it's not like I'm not trying.",
    ),
    "reserved": ("Okay.", "Right.", "If you say so.", "Whatever."),
    "tangent": ("That's not fair.", "People always say that.", "Hm. Not fair."),
    "pleasing": (
        "Sorry. I know, I know.",
        "You're right, I'm sorry. I am trying, though.",
        "I know it looks bad. Sorry.",
    ),
}
#: Advice: "yes, but".
YES_BUT: Pool = {
    "plain": (
        "Maybe. But it's not that simple.",
        "Yeah, I've thought about that. It's just hard.",
        "I could, I suppose. But I don't know.",
    ),
    "upset": (
        "Yeah, like I haven't thought of that.",
        "Easy to say.",
        "If it were that simple I'd have done it already.",
    ),
    "verbose": (
        "Yes, I know, I know, and I do try, but then something always gets in the way.",
        "That's a good idea in theory, but in practice it never quite works out like that for me.",
        "I have thought about that, honestly, but it's easier said than done.",
    ),
    "reserved": ("Maybe.", "I guess. But no.", "Hm. Maybe."),
    "tangent": ("Maybe. But it's not that simple.", "Yeah, maybe. It's complicated."),
    "pleasing": (
        "Yes, that's a really good idea. I'll try. It's just... it's hard.",
        "Oh, you're right, I should. I just don't know if I can.",
        "Yes, definitely, I'll try that. Although, um, it's not easy.",
    ),
}
#: Before a disclosure.
CONFIDE: Pool = {
    "plain": (
        "There's something else.",
        "I haven't said this to anyone.",
        "Can I tell you something?",
    ),
    "upset": (
        "Fine. You might as well know.",
        "Look, there's something else, okay?",
        "Okay. Fine.",
    ),
    "verbose": (
        "Okay, I think I can tell you something, actually.",
        "You know, I haven't really told anyone this, but...",
        "I've been going back and forth about whether to say this.",
    ),
    "reserved": ("Um.", "There's... something.", "Okay."),
    "tangent": ("This is going to sound random, but...", "Actually, can I say something?"),
    "pleasing": (
        "Can I tell you something? I hope that's okay.",
        "I feel like I can tell you this.",
    ),
}
#: After a disclosure.
CONFIDED: Pool = {
    "plain": ("", "I don't know why I'm telling you.", "It's been on my mind."),
    "upset": ("There. Happy now?", "So yeah. That's that.", ""),
    "verbose": (
        "It's been on my mind a lot lately, I just haven't known how to say it.",
        "Wow, okay. I've never actually said that out loud.",
    ),
    "reserved": ("", "Yeah."),
    "tangent": ("", "Sorry. Anyway."),
    "pleasing": ("Sorry, is that okay to say?", "I hope you don't think badly of me."),
}
#: Tangent: the bridge to a side topic, and generic side topics when the background runs out.
BRIDGE = (
    "That reminds me, actually.",
    "Oh, and another thing.",
    "Sorry, this is random.",
    "Funny, I was just thinking about something else.",
)
SIDE_TOPICS = (
    "The bus was late again this morning, which didn't help.",
    "I nearly didn't find the building.",
    "My phone's been playing up all week.",
    "There's been roadworks outside my place, it's so loud.",
    "I keep meaning to sort out my kitchen cupboards.",
)
#: Said when the profile has nothing fresh left for an answer.
MUSINGS = (
    "Some days are better than others.",
    "I keep telling myself it'll get better.",
    "It's hard to explain, really.",
    "I just feel stuck.",
    "It all sort of piles up.",
    "I don't really talk about this stuff much.",
    "I keep thinking I should be able to handle it.",
    "I'm not sure it's as bad as it sounds. Or maybe it is.",
    "Most days I just get through it.",
    "I'm tired of feeling like this.",
    "I don't know where it all went wrong, really.",
    "It's not like me, that's the thing.",
    "I used to be better at coping.",
    "I feel like I'm letting people down.",
    "I'm just going through the motions, most of the time.",
    "I keep it to myself, mostly.",
    "I don't want to make a fuss.",
    "It's been building up for a while, I think.",
    "I'm not used to talking about myself like this.",
    "Sometimes I think I'm making too much of it.",
)
#: A reflection that names a feeling gets it back ("Alone, yeah. That's the word.").
ECHO = (
    "{Word}, yeah. That's the word.",
    "Yeah. {Word} is exactly it.",
    "{Word}. Yes.",
    "That's it. {Word}.",
)
#: Before a profile line said again ("Like I said, I live alone").
CALLBACKS = ("Like I said,", "As I said,", "I mean, like I said,")
TEARFUL = (
    "Sorry. I'm getting a bit teary.",
    "Sorry, give me a second.",
    "I didn't think this would be so hard to say.",
)


def voice(pool: Pool, style: ConversationStyle) -> tuple[str, ...]:
    """The alternatives of ``pool`` for ``style`` (plain when the style has none)."""
    return pool.get(style) or pool["plain"]
