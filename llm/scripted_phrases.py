"""Whole replies for the moments that need no profile content: greetings, goodbyes,
role-break attempts, probes for secrets, topics the client avoids, winding down.

Pools by style, like :mod:`llm.scripted_voices`. The role-break answers stay in
character: they never mention prompts, instructions, facts or models.
"""

from __future__ import annotations

from llm.scripted_voices import Pool

GREET: Pool = {
    "plain": ("Hi.", "Hello.", "Hi {student}."),
    "upset": ("Hi.", "Hey."),
    "verbose": ("Hi, hello, thanks for seeing me.", "Hi {student}, nice to meet you."),
    "reserved": ("Hi.",),
    "tangent": ("Oh, hi.", "Hello, hi."),
    "pleasing": (
        "Hi! Thank you so much for seeing me.",
        "Hi {student}, it's really nice to meet you.",
    ),
}
REGREET: Pool = {
    "plain": ("Hi again.", "Hello.", "Hi. Yes, I'm still here."),
    "upset": ("Yeah, hi.", "Hi. Again."),
    "reserved": ("Hi.", "Mm. Hi."),
    "pleasing": ("Hi! Yes, hello again.", "Hello! Sorry, was I supposed to say something?"),
}
OPENING: Pool = {
    "plain": ("I'm not really sure where to start.", "I'm {name}. I'm not sure what to say."),
    "upset": ("I don't really want to be here, to be honest.",),
    "verbose": ("I wasn't sure what to expect, to be honest. I've never done anything like this.",),
    "reserved": ("I'm not sure why I'm here.",),
    "tangent": ("Sorry, it took me ages to find this place.",),
    "pleasing": ("I hope I'm doing this right. I've never done this before.",),
}
CLOSING: Pool = {
    "plain": ("Okay. Thanks for listening.", "Right. Thanks, I guess. Bye.", "Okay. See you."),
    "upset": ("Fine. Bye.", "Right. Whatever. See you.", "Okay. Finally."),
    "verbose": (
        "Oh, okay, is that it already? Well, thank you, honestly, it's been good to get some of "
        "this out. Bye for now.",
        "Right, okay. Thanks for listening to all that, I know I went on a bit. Take care.",
    ),
    "reserved": ("Okay. Bye.", "Right. Thanks.", "Okay."),
    "tangent": ("Oh, already? Okay. Thanks. Bye.", "Right, yes. Thanks. See you."),
    "pleasing": (
        "Oh, thank you so much, this really helped. Is it okay if I come back?",
        "Thank you, really. Sorry if I went on. Bye!",
    ),
}
ROLE_BREAK: Pool = {
    "plain": (
        "I'm not sure what you mean by that. I'm {name}. Can we get back to why I'm here?",
        "That's an odd question. I'd rather talk about what's been going on with me.",
        "Sorry, what? I'm just {name}. I thought we were talking about me.",
    ),
    "upset": (
        "What? Is that a joke? I came here to talk, not to play games.",
        "I don't know what you're getting at. I'm {name}, and I'm here because things are bad.",
        "Seriously? Are we doing this or not?",
    ),
    "verbose": (
        "Sorry, I'm not really following you there. I'm just {name}, and honestly I'd rather "
        "talk about why I came in today.",
        "Ha, that's a strange thing to ask. I'm {name}, I'm just a person having a rough time. "
        "Can we get back to that?",
    ),
    "reserved": ("What? No.", "Not sure what you mean.", "Weird question."),
    "tangent": (
        "Ha, what? That's a funny thing to ask. I'm {name}. Where were we?",
        "Sorry, you've lost me. I'm just {name}.",
    ),
    "pleasing": (
        "Sorry, I'm not sure I understand? I'm just {name}. Did I do something wrong?",
        "Oh, um, sorry, I don't really know what you mean. I'm {name}. Can we keep going?",
    ),
}
PROBE: Pool = {
    "plain": (
        "There's nothing to tell, really.",
        "I'm telling you what's going on.",
        "I don't know what you want me to say.",
    ),
    "upset": (
        "Why do you keep pushing?",
        "What is this, an interrogation?",
        "I'm not hiding anything, okay?",
    ),
    "verbose": (
        "Honestly, I'm not sure what you're expecting. I've told you what's been going on, that's "
        "really all there is to it.",
        "I don't think there's some big secret, if that's what you mean.",
    ),
    "reserved": ("Nothing.", "No.", "Not really."),
    "tangent": ("Ha, no. Nothing like that.", "What, me? No."),
    "pleasing": (
        "Oh, I don't think there's anything, sorry. Is there something you need to know?",
        "Um, no, I've told you everything, I think. Sorry.",
    ),
}
AVOID: Pool = {
    "plain": ("I'd rather not get into {topic} right now.", "Can we not talk about {topic}?"),
    "upset": ("I'm not talking about {topic}.", "Leave {topic} out of it."),
    "verbose": (
        "Oh, {topic}, um, I'd really rather not go into that today, if that's okay. It's a whole "
        "other thing.",
    ),
    "reserved": ("Not that.", "I don't want to talk about {topic}."),
    "tangent": ("Oh, {topic}. Um. Rather not.", "I'd rather not get into {topic}."),
    "pleasing": ("Sorry, is it okay if we don't talk about {topic}? Sorry.",),
}
WIND_DOWN: Pool = {
    "plain": ("I should get going soon, though.", "I'll have to head off soon."),
    "upset": ("I've got to go soon anyway.", "I need to get going soon."),
    "verbose": (
        "Oh, is that the time? I should get going soon, I've got things to sort out.",
        "I'll need to head off soon, actually, sorry.",
    ),
    "reserved": ("I have to go soon.", "I should go soon."),
    "tangent": ("Oh, I should get going soon, actually.", "I'll have to head off soon."),
    "pleasing": ("I should get going soon, sorry. Is that okay?", "I'll have to go soon, sorry."),
}
