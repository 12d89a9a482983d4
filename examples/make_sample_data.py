"""Writes the small sample datasets shipped in multiner/data/, written for this project (templates filled with
invented and common names; train 240 and dev 60 examples each):

- sample_{train,dev}.jsonl (Multi-NER): PER / LOC / ORG / MISC entities, some ORG names nesting a LOC;
- sample_relations_{train,dev}.jsonl (joint ER): PER / ORG / LOC entities and Work_For / Live_In / Based_In relations;
- sample_discontinuous_{train,dev}.jsonl (seq2seq): ADR (adverse reaction) and Drug entities in patient-forum style
  sentences, some ADR mentions discontinuous ("my knees and elbows ached": "knees ... ached" and "elbows ached").

Run from the repository root: python examples/make_sample_data.py
"""

import json
import random
from pathlib import Path

PEOPLE = [
    "Maria Lindqvist",
    "Tomas Okafor",
    "Priya Raman",
    "John Barker",
    "Elena Duval",
    "Kenji Watanabe",
    "Amara Nwosu",
    "Lucas Ferreira",
    "Hannah Keller",
    "Omar Haddad",
    "Sofia Marino",
    "Daniel Brooks",
    "Ines Carvalho",
    "Viktor Petrov",
    "Grace Mbeki",
    "Liam O'Connell",
    "Yara Saleh",
    "Pablo Ortega",
    "Anna Kowalska",
    "Samuel Adeyemi",
    "Mei Chen",
    "Jonas Berg",
    "Fatima Zahra",
    "Henry Walsh",
]
PLACES = [
    "Lisbon",
    "Nairobi",
    "Oslo",
    "Melbourne",
    "Toronto",
    "Krakow",
    "Osaka",
    "Lima",
    "Dublin",
    "Cairo",
    "Seville",
    "Hamburg",
    "Portugal",
    "Kenya",
    "Norway",
    "Canada",
    "Peru",
    "Egypt",
    "Brazil",
    "Scotland",
    "Patagonia",
    "Tasmania",
    "Lake Victoria",
    "Bavaria",
]
COMPANIES = [
    "Norvik Shipping",
    "Altamira Foods",
    "Helix Biotech",
    "Bluegate Capital",
    "Corvane Motors",
    "Sunmarsh Energy",
    "Tidewell Insurance",
    "Quillon Software",
    "Oxfam",
    "UNESCO",
    "Greenfield Rovers",
    "Northbridge Athletic",
]
# ORG names with a LOC inside them: nested entities.
NESTED_ORGS = [
    ("University of {}", ["Lisbon", "Oslo", "Toronto", "Dublin", "Cairo", "Krakow"]),
    ("Bank of {}", ["Portugal", "Kenya", "Norway", "Canada", "Peru", "Egypt"]),
    ("{} City Council", ["Nairobi", "Melbourne", "Hamburg", "Seville", "Lima", "Osaka"]),
]
# MISC: nationalities (used as adjectives) and events or prizes (used as nouns).
NATIONALITIES = ["Norwegian", "Brazilian", "Japanese", "Kenyan", "Canadian", "Peruvian", "Scottish", "Egyptian"]
EVENTS = ["Winter Games", "Harvest Festival", "Nobel Prize", "Open Championship", "Coastal Cup"]
TEMPLATES = [
    "{PER} was born in {LOC}.",
    "{PER} joined {ORG} last year.",
    "{ORG} opened a new office in {LOC}.",
    "The {NAT} delegation met {PER} in {LOC}.",
    "{PER} told reporters that {ORG} would expand.",
    "Shares of {ORG} rose after {PER} resigned.",
    "{PER} and {PER} arrived in {LOC} on Monday.",
    "A {NAT} team won the {EVENT} in {LOC}.",
    "{ORG} signed a deal with {ORG}.",
    "{PER}, a spokesman for {ORG}, declined to comment.",
    "Heavy rain fell across {LOC} and {LOC}.",
    "{PER} will travel to {LOC} next week.",
    "The talks in {LOC} were led by {PER}.",
    "{PER} won the {EVENT} for the second time.",
    "{ORG} reported record profits in {LOC}.",
    "Fans of {ORG} celebrated in {LOC}.",
    "{PER} studied at {ORG} before moving to {LOC}.",
    "The {NAT} minister, {PER}, visited {ORG}.",
    "Police in {LOC} said {PER} was not injured.",
    "{ORG} hired {PER} as chief executive.",
]


def organisation(rng: random.Random) -> tuple[str, list[tuple[int, int, str]]]:
    """An ORG name and the entities inside it, offsets relative to the name."""
    if rng.random() < 0.4:
        pattern, places = rng.choice(NESTED_ORGS)
        place = rng.choice(places)
        name = pattern.format(place)
        inner = name.index(place)
        return name, [(inner, inner + len(place), "LOC")]
    return rng.choice(COMPANIES), []


def sentence(rng: random.Random) -> dict:
    template = rng.choice(TEMPLATES)
    text, entities = "", []
    for piece in template.replace("{", "\0{").replace("}", "}\0").split("\0"):
        if piece.startswith("{"):
            slot = piece[1:-1]
            label = "MISC" if slot in ("NAT", "EVENT") else slot
            inner: list[tuple[int, int, str]] = []
            if label == "ORG":
                surface, inner = organisation(rng)
            else:
                surface = rng.choice({"PER": PEOPLE, "LOC": PLACES, "NAT": NATIONALITIES, "EVENT": EVENTS}[slot])
            start = len(text)
            entities.append({"start": start, "end": start + len(surface), "label": label})
            entities.extend({"start": start + s, "end": start + e, "label": lab} for s, e, lab in inner)
            text += surface
        else:
            text += piece
    return {"text": text, "entities": entities}


# Joint ER: each template's slots are filled left to right; relations name slots by position (head, tail, type).
RELATION_TEMPLATES = [
    ("{PER} works for {ORG}.", [(0, 1, "Work_For")]),
    ("{PER} lives in {LOC}.", [(0, 1, "Live_In")]),
    ("{ORG} is based in {LOC}.", [(0, 1, "Based_In")]),
    ("{PER}, who works for {ORG}, moved to {LOC} in May.", [(0, 1, "Work_For"), (0, 2, "Live_In")]),
    ("{ORG}, headquartered in {LOC}, hired {PER}.", [(0, 1, "Based_In"), (2, 0, "Work_For")]),
    ("{PER} grew up in {LOC} and now works at {ORG}.", [(0, 1, "Live_In"), (0, 2, "Work_For")]),
    ("{PER} met {PER} in {LOC} on Friday.", []),
    ("Analysts at {ORG} expect growth in {LOC}.", [(0, 1, "Based_In")]),
    ("{PER}, a resident of {LOC}, was interviewed.", [(0, 1, "Live_In")]),
    ("The {ORG} office in {LOC} is run by {PER}.", [(0, 1, "Based_In"), (2, 0, "Work_For")]),
]
CITIES = [place for place in PLACES if " " not in place][:12]


def relation_example(rng: random.Random) -> dict:
    template, links = rng.choice(RELATION_TEMPLATES)
    text, entities = "", []
    for piece in template.replace("{", "\0{").replace("}", "}\0").split("\0"):
        if piece.startswith("{"):
            label = piece[1:-1]
            surface = rng.choice({"PER": PEOPLE, "LOC": CITIES, "ORG": COMPANIES}[label])
            entities.append({"start": len(text), "end": len(text) + len(surface), "label": label})
            text += surface
        else:
            text += piece
    relations = [{"head": head, "tail": tail, "type": kind} for head, tail, kind in links]
    return {"text": text, "entities": entities, "relations": relations}


# Seq2seq: adverse reactions (ADR) told as patients tell them, with Drug names; "{P1} and {P2} {S}" gives one
# discontinuous ADR ("{P1} ... {S}") and one contiguous ("{P2} {S}").
DRUGS = ["Lipitor", "Voltaren", "Arthrotec", "Celebrex", "Zocor", "Naprosyn", "Crestor", "Mobic"]
PARTS = ["knees", "elbows", "shoulders", "wrists", "ankles", "hips", "hands", "feet"]
ACHES = ["ached", "hurt", "swelled", "stiffened", "throbbed"]
SYMPTOMS = ["headaches", "nausea", "dizziness", "cramps", "insomnia", "rashes", "fatigue", "heartburn"]
SEVERITY = ["severe", "mild", "constant", "terrible"]


def discontinuous_example(rng: random.Random) -> dict:
    drug, first, second = rng.choice(DRUGS), *rng.sample(PARTS, 2)
    ache, symptom, severity = rng.choice(ACHES), rng.choice(SYMPTOMS), rng.choice(SEVERITY)
    kind = rng.randrange(4)
    if kind == 0:  # one discontinuous and one contiguous ADR
        text = f"My {first} and {second} {ache} after taking {drug}."
        spans = [("ADR", [first, ache]), ("ADR", [f"{second} {ache}"]), ("Drug", [drug])]
    elif kind == 1:
        text = f"{drug} gave me {severity} {symptom}."
        spans = [("Drug", [drug]), ("ADR", [f"{severity} {symptom}"])]
    elif kind == 2:
        text = f"Since starting {drug} I have had {symptom} and my {first} {ache}."
        spans = [("Drug", [drug]), ("ADR", [symptom]), ("ADR", [f"{first} {ache}"])]
    else:
        text = f"No side effects from {drug} so far."
        spans = [("Drug", [drug])]
    entities = []
    for label, words in spans:
        fragments = [{"start": text.index(word), "end": text.index(word) + len(word)} for word in words]
        entity = {"start": fragments[0]["start"], "end": fragments[-1]["end"], "label": label}
        if len(fragments) > 1:
            entity["fragments"] = fragments
        entities.append(entity)
    return {"text": text, "entities": entities}


def main() -> None:
    rng = random.Random(2026)
    folder = Path(__file__).resolve().parent.parent / "multiner" / "data"
    folder.mkdir(exist_ok=True)
    for prefix, make in (("sample", sentence), ("sample_relations", relation_example),
                         ("sample_discontinuous", discontinuous_example)):  # fmt: skip
        for split, size in (("train", 240), ("dev", 60)):
            with open(folder / f"{prefix}_{split}.jsonl", "w", encoding="utf-8") as file:
                for _ in range(size):
                    file.write(json.dumps(make(rng)) + "\n")


if __name__ == "__main__":
    main()
