"""Short phrases that name a digit, in eight languages, with typos and distractor words.

The held-out test is about phrasing, not vocabulary: every split uses the same number words and
languages, but the sentence templates of val and test never occur in training, so a text model
has to find the number inside an unfamiliar sentence rather than memorise whole strings.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from mmstudio.training.digits.pseudowords import PseudoWords, all_number_words

LANGUAGES: tuple[str, ...] = ("en", "fr", "de", "es", "it", "ru", "zh", "ja")

# Several spellings per digit where people really use them; the first is the usual one.
NUMBER_WORDS: dict[str, list[list[str]]] = {
    "en": [
        ["zero"],
        ["one"],
        ["two"],
        ["three"],
        ["four"],
        ["five"],
        ["six"],
        ["seven"],
        ["eight"],
        ["nine"],
    ],
    "fr": [
        ["zéro"],
        ["un"],
        ["deux"],
        ["trois"],
        ["quatre"],
        ["cinq"],
        ["six"],
        ["sept"],
        ["huit"],
        ["neuf"],
    ],
    "de": [
        ["null"],
        ["eins"],
        ["zwei"],
        ["drei"],
        ["vier"],
        ["fünf"],
        ["sechs"],
        ["sieben"],
        ["acht"],
        ["neun"],
    ],
    "es": [
        ["cero"],
        ["uno"],
        ["dos"],
        ["tres"],
        ["cuatro"],
        ["cinco"],
        ["seis"],
        ["siete"],
        ["ocho"],
        ["nueve"],
    ],
    "it": [
        ["zero"],
        ["uno"],
        ["due"],
        ["tre"],
        ["quattro"],
        ["cinque"],
        ["sei"],
        ["sette"],
        ["otto"],
        ["nove"],
    ],
    "ru": [
        ["ноль", "нуль"],
        ["один"],
        ["два"],
        ["три"],
        ["четыре"],
        ["пять"],
        ["шесть"],
        ["семь"],
        ["восемь"],
        ["девять"],
    ],
    "zh": [
        ["零", "〇"],
        ["一"],
        ["二", "两"],
        ["三"],
        ["四"],
        ["五"],
        ["六"],
        ["七"],
        ["八"],
        ["九"],
    ],
    # Single-kana readings such as し (4) and く (9) are left out: they are too common inside
    # ordinary words to carry a label. に (2) and ご (5) stay, being the only readings.
    "ja": [
        ["ゼロ", "れい", "零"],
        ["いち", "一"],
        ["に", "二"],
        ["さん", "三"],
        ["よん", "四"],
        ["ご", "五"],
        ["ろく", "六"],
        ["なな", "しち", "七"],
        ["はち", "八"],
        ["きゅう", "九"],
    ],
}

# {n} is the number. Templates are split three ways and never shared between splits.
TEMPLATES: dict[str, dict[str, list[str]]] = {
    "en": {
        "train": [
            "{n}",
            "I think it is a {n}",
            "the number is {n}",
            "it's {n}",
            "that looks like a {n}",
            "my guess is {n}",
            "this digit is {n}",
            "definitely {n}",
            "it is {n}",
            "I see a {n}",
            "that one is a {n}",
            "number {n}",
            "{n} is my guess",
            "{n}, obviously",
            "{n} it is",
        ],
        "val": ["probably a {n}", "I would say {n}"],
        "test": ["pretty sure that's a {n}", "the answer must be {n}", "{n}, I believe"],
    },
    "fr": {
        "train": [
            "{n}",
            "c'est un {n}",
            "le nombre est {n}",
            "je pense que c'est {n}",
            "on dirait un {n}",
            "chiffre : {n}",
            "je vois un {n}",
            "voici un {n}",
            "{n}, évidemment",
            "{n} à mon avis",
            "ça ressemble à {n}",
        ],
        "val": ["plutôt {n}", "je dirais {n}"],
        "test": ["c'est sûrement un {n}", "la réponse est {n}", "{n}, je crois"],
    },
    "de": {
        "train": [
            "{n}",
            "das ist eine {n}",
            "die Zahl ist {n}",
            "ich glaube, es ist {n}",
            "sieht aus wie {n}",
            "Ziffer: {n}",
            "ich sehe eine {n}",
            "hier steht {n}",
            "{n}, eindeutig",
            "{n} würde ich tippen",
            "es ist {n}",
        ],
        "val": ["wahrscheinlich {n}", "ich würde sagen {n}"],
        "test": ["bestimmt eine {n}", "die Antwort ist {n}", "{n}, glaube ich"],
    },
    "es": {
        "train": [
            "{n}",
            "es un {n}",
            "el número es {n}",
            "creo que es {n}",
            "parece un {n}",
            "dígito: {n}",
            "veo un {n}",
            "aquí hay un {n}",
            "{n}, claramente",
            "{n} me parece",
            "es el {n}",
        ],
        "val": ["probablemente {n}", "yo diría {n}"],
        "test": ["seguro que es un {n}", "la respuesta es {n}", "{n}, creo"],
    },
    "it": {
        "train": [
            "{n}",
            "è un {n}",
            "il numero è {n}",
            "penso che sia {n}",
            "sembra un {n}",
            "cifra: {n}",
            "vedo un {n}",
            "questo è {n}",
            "{n}, chiaramente",
            "{n} secondo me",
            "c'è un {n}",
        ],
        "val": ["probabilmente {n}", "direi {n}"],
        "test": ["sicuramente un {n}", "la risposta è {n}", "{n}, credo"],
    },
    "ru": {
        "train": [
            "{n}",
            "это {n}",
            "число {n}",
            "я думаю, это {n}",
            "похоже на {n}",
            "цифра: {n}",
            "я вижу {n}",
            "здесь {n}",
            "{n}, очевидно",
            "{n}, по-моему",
            "написано {n}",
        ],
        "val": ["наверное, {n}", "я бы сказал {n}"],
        "test": ["точно {n}", "ответ: {n}", "{n}, мне кажется"],
    },
    "zh": {
        "train": [
            "{n}",
            "这是{n}",
            "数字是{n}",
            "我觉得是{n}",
            "看起来像{n}",
            "答案：{n}",
            "我看到{n}",
            "那是{n}",
            "{n}没错",
            "写的是{n}",
            "是{n}",
        ],
        "val": ["大概是{n}", "应该是{n}"],
        "test": ["我猜是{n}", "这个数字是{n}", "{n}吧"],
    },
    "ja": {
        # Templates avoid the particle に, which would read as the number 2.
        "train": [
            "{n}",
            "これは{n}です",
            "数字は{n}",
            "{n}だと思う",
            "{n}っぽい",
            "答え：{n}",
            "{n}です",
            "{n}ですね",
            "これは数字の{n}",
            "{n}だよ",
            "見たところ{n}",
        ],
        "val": ["たぶん{n}", "{n}でしょう"],
        "test": ["きっと{n}だ", "正解は{n}", "{n}かな"],
    },
}

# Phrases that name two digits and commit to neither ("three or eight"): the text alone
# allows both, and a model should say so. {a} and {b} are the two numbers, {a} first. Split as
# above; no frame's own words are a number word of its language (French "un" would name a third).
EITHER_TEMPLATES: dict[str, dict[str, list[str]]] = {
    "en": {
        "train": [
            "{a} or {b}",
            "either {a} or {b}",
            "could be {a} or {b}",
            "{a} or maybe {b}",
            "I can't tell: {a} or {b}",
            "it's {a} or {b}",
            "looks like {a} or {b}",
            "maybe {a}, maybe {b}",
            "{a} or perhaps {b}",
            # Clauses before and after the pair, so a frame's other words do not tip the balance.
            "hard to tell: {a} or {b}",
            "{a} or {b}, no idea",
            "is it {a} or {b}?",
            "I don't know, {a} or {b}",
            "it could be a {a} or a {b}",
            "{a} or else {b}",
        ],
        "val": ["probably {a} or {b}", "not sure if {a} or {b}"],
        "test": ["it is a {a} or a {b}", "{a} or {b}, I can't decide", "either a {a} or a {b}"],
    },
    "fr": {
        "train": [
            "{a} ou {b}",
            "soit {a} soit {b}",
            "peut-être {a} ou {b}",
            "c'est {a} ou {b}",
            "{a} ou bien {b}",
            "difficile à dire : {a} ou {b}",
            "{a} ou {b}, aucune idée",
            "est-ce {a} ou {b} ?",
            "j'hésite : {a} ou {b}",
        ],
        "val": ["plutôt {a} ou {b}"],
        "test": ["je ne sais pas, {a} ou {b}", "{a} ou alors {b}"],
    },
    "de": {
        "train": [
            "{a} oder {b}",
            "entweder {a} oder {b}",
            "vielleicht {a} oder {b}",
            "das ist {a} oder {b}",
            "{a} oder doch {b}",
            "schwer zu sagen: {a} oder {b}",
            "{a} oder {b}, keine Ahnung",
            "ist es {a} oder {b}?",
            "vielleicht eine {a}, vielleicht eine {b}",
        ],
        "val": ["wahrscheinlich {a} oder {b}"],
        "test": ["es ist eine {a} oder {b}", "ich weiß nicht, {a} oder {b}"],
    },
    "es": {
        "train": [
            "{a} o {b}",
            "o {a} o {b}",
            "quizás {a} o {b}",
            "es {a} o {b}",
            "{a} o tal vez {b}",
            "difícil de decir: {a} o {b}",
            "{a} o {b}, ni idea",
            "¿es {a} o {b}?",
            "puede ser un {a} o un {b}",
        ],
        "val": ["probablemente {a} o {b}"],
        "test": ["es un {a} o un {b}", "no sé, {a} o {b}"],
    },
    "it": {
        "train": [
            "{a} o {b}",
            "o {a} o {b}",
            "forse {a} o {b}",
            "è {a} o {b}",
            "{a} oppure {b}",
            "difficile dirlo: {a} o {b}",
            "{a} o {b}, boh",
            "è {a} oppure {b}?",
            "può essere un {a} o un {b}",
        ],
        "val": ["probabilmente {a} o {b}"],
        "test": ["è un {a} o un {b}", "non so, {a} oppure {b}"],
    },
    "ru": {
        "train": [
            "{a} или {b}",
            "либо {a}, либо {b}",
            "может быть {a} или {b}",
            "это {a} или {b}",
            "трудно сказать: {a} или {b}",
            "{a} или {b}, без понятия",
            "это {a} или {b}?",
            "может, {a}, а может, {b}",
        ],
        "val": ["наверное, {a} или {b}"],
        "test": ["это то ли {a}, то ли {b}", "не знаю, {a} или {b}"],
    },
    "zh": {
        "train": [
            "{a}或{b}",
            "{a}还是{b}",
            "可能是{a}或者{b}",
            "是{a}或{b}",
            "很难说，{a}或{b}",
            "{a}或者{b}，不知道",
            "是{a}还是{b}？",
            "也许{a}，也许{b}",
        ],
        "val": ["大概是{a}或{b}"],
        "test": ["不是{a}就是{b}", "我不确定，{a}还是{b}"],
    },
    "ja": {
        "train": [
            "{a}か{b}",
            "{a}または{b}",
            "たぶん{a}か{b}",
            "{a}か{b}です",
            "{a}か{b}か、どっちだろう",
            "{a}か{b}、はっきりしない",
            "{a}かもしれないし{b}かもしれない",
            "{a}または{b}だと思う",
        ],
        "val": ["おそらく{a}か{b}"],
        "test": ["{a}か{b}かわからない", "{a}もしくは{b}"],
    },
}

_RAW_DISTRACTORS: dict[str, list[str]] = {
    "en": [
        "hmm",
        "well",
        "okay",
        "maybe",
        "look",
        "picture",
        "blue",
        "quickly",
        "hello",
        "please",
        "really",
        "sure",
        "so",
        "right",
        "yes",
        "honestly",
        "wow",
        "cat",
        "red",
    ],
    "fr": [
        "bon",
        "alors",
        "voilà",
        "bref",
        "oui",
        "euh",
        "regarde",
        "image",
        "vraiment",
        "merci",
        "bleu",
        "chat",
    ],
    "de": ["also", "naja", "ja", "hallo", "Bild", "bitte", "wirklich", "gut", "blau", "Katze"],
    "es": ["bueno", "pues", "vale", "mira", "imagen", "hola", "gracias", "azul", "gato", "sí"],
    "it": ["allora", "beh", "ecco", "guarda", "immagine", "ciao", "grazie", "blu", "gatto", "sì"],
    "ru": ["ну", "вот", "ладно", "смотри", "картинка", "привет", "спасибо", "кот", "да"],
    "zh": ["嗯", "好", "看", "图片", "你好", "谢谢", "猫", "蓝色"],
    "ja": ["ええと", "まあ", "ほら", "写真", "ありがとう", "猫", "青"],
}


# Private-use characters, one per number: never typed, never produced by a template or a typo.
_NUMBER_SLOTS = ("\ue000", "\ue001")
# Shorter number words ("un", "に", "7") lose their identity to any slip.
_MIN_TYPO_NUMBER_LENGTH = 3


def _clean_distractors() -> dict[str, list[str]]:
    """Drop any distractor that contains a number word of any language ("todos" holds "dos")."""
    numbers = all_number_words(NUMBER_WORDS)
    return {
        lang: [w for w in words if not any(number in w.lower() for number in numbers)]
        for lang, words in _RAW_DISTRACTORS.items()
    }


DISTRACTORS: dict[str, list[str]] = _clean_distractors()


@dataclass(frozen=True)
class TextStyle:
    """How noisy generated phrases are; the defaults suit training data, not corruption."""

    numeral_rate: float = 0.2  # write "7" instead of the word
    distractor_rate: float = 0.3  # add one or two unrelated words
    typo_rate: float = 0.5  # phrases with any typo at all
    typo_char_rate: float = 0.04  # per-character edit rate inside such a phrase
    english_weight: float = 2.0  # English is what most users will type
    pseudo_word_rate: float = 0.5  # training phrases only: add made-up words (see pseudowords)


def make_text(
    digit: int, split: str, rng: np.random.Generator, style: TextStyle = TextStyle()
) -> tuple[str, dict[str, str | int]]:
    """A phrase naming ``digit`` using ``split``'s templates, and metadata about how it was made."""
    lang = _language(rng, style)
    template = _pick(TEMPLATES[lang][split], rng).format(n=_NUMBER_SLOTS[0])
    text, spans, form = _fill(template, [digit], lang, split, rng, style)
    # Where the number sits, in characters of the phrase: what a text explanation should find.
    ((start, end),) = spans
    meta = {
        "text_lang": lang,
        "text_form": form,
        "text_number_start": start,
        "text_number_end": end,
    }
    return text, meta


def make_either_text(
    digits: tuple[int, int], split: str, rng: np.random.Generator, style: TextStyle = TextStyle()
) -> tuple[str, dict[str, object]]:
    """A phrase naming both ``digits``, in that order, without choosing between them."""
    lang = _language(rng, style)
    template = _pick(EITHER_TEMPLATES[lang][split], rng).format(
        a=_NUMBER_SLOTS[0], b=_NUMBER_SLOTS[1]
    )
    text, spans, form = _fill(template, list(digits), lang, split, rng, style)
    meta = {"text_lang": lang, "text_form": form, "text_number_spans": [list(s) for s in spans]}
    return text, meta


def _language(rng: np.random.Generator, style: TextStyle) -> str:
    weights = np.array([style.english_weight if lang == "en" else 1.0 for lang in LANGUAGES])
    return LANGUAGES[int(rng.choice(len(LANGUAGES), p=weights / weights.sum()))]


def _fill(
    template: str, digits: list[int], lang: str, split: str, rng, style: TextStyle
) -> tuple[str, list[tuple[int, int]], str]:
    """Noise around the numbers' slots, then the numbers: the text, each number's character
    span and whether they were written as numerals or words."""
    if rng.random() < style.numeral_rate:
        numbers, form = [str(d) for d in digits], "numeral"
    else:
        numbers, form = [_pick(NUMBER_WORDS[lang][d], rng) for d in digits], "word"
    # The numbers stand in as placeholders that typos skip: a slip may garble a long number
    # word, but must never delete a one-character number ("七", "2") and leave no label at all.
    text = template
    if rng.random() < style.distractor_rate:
        text = _insert_words(
            text, [_pick(DISTRACTORS[lang], rng) for _ in range(_one_or_two(rng))], rng
        )
    if split == "train" and rng.random() < style.pseudo_word_rate:
        made_up = [_pseudo_words().draw(lang, rng) for _ in range(_one_or_two(rng))]
        text = _insert_words(text, [w for w in made_up if w], rng)
    if rng.random() < style.typo_rate:
        text = add_typos(text, style.typo_char_rate, rng)
        numbers = [
            add_typos(n, style.typo_char_rate, rng) if len(n) >= _MIN_TYPO_NUMBER_LENGTH else n
            for n in numbers
        ]
    spans = []
    for slot, number in zip(_NUMBER_SLOTS[: len(numbers)], numbers, strict=True):
        start = text.index(slot)
        text = text.replace(slot, number)
        spans.append((start, start + len(number)))
    return text, spans, form


def phrase(digit: int, lang: str, template: str, *, numeral: bool = False) -> str:
    """A clean phrase, for hand-picked examples."""
    number = str(digit) if numeral else NUMBER_WORDS[lang][digit][0]
    return template.format(n=number)


def add_typos(text: str, rate: float, rng: np.random.Generator) -> str:
    """Swap, drop or double characters, the slips of a hurried typist."""
    chars = list(text)
    out: list[str] = []
    i = 0
    while i < len(chars):
        char = chars[i]
        if char.isspace() or char in _NUMBER_SLOTS or rng.random() >= rate:
            out.append(char)
            i += 1
            continue
        action = rng.integers(3)
        if (
            action == 0
            and i + 1 < len(chars)
            and not chars[i + 1].isspace()
            and chars[i + 1] not in _NUMBER_SLOTS
        ):
            out.extend([chars[i + 1], char])
            i += 2
            continue
        if action == 1:
            out.append(char * 2)
        # action 2 (or a swap at a word end) drops the character
        i += 1
    result = "".join(out)
    return result if result.strip() else text


def _insert_words(text: str, extra: list[str], rng: np.random.Generator) -> str:
    words = text.split(" ")
    for word in extra:
        words.insert(int(rng.integers(len(words) + 1)), word)
    return " ".join(words)


def _one_or_two(rng: np.random.Generator) -> int:
    return int(rng.integers(1, 3))


@functools.lru_cache(maxsize=1)
def _pseudo_words() -> PseudoWords:
    held_out = [
        frame
        for templates in (TEMPLATES, EITHER_TEMPLATES)
        for lang in LANGUAGES
        for split in ("val", "test")
        for frame in templates[lang][split]
    ]
    return PseudoWords(NUMBER_WORDS, held_out)


def _pick(options: list[str], rng: np.random.Generator) -> str:
    return options[int(rng.integers(len(options)))]
