"""Writes multiner/data/sample_{train,dev}.jsonl: a small NER dataset written for this project (templates filled
with invented and common names), with PER / LOC / ORG / MISC entities, some ORG names nesting a LOC.

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


def main() -> None:
    rng = random.Random(2026)
    folder = Path(__file__).resolve().parent.parent / "multiner" / "data"
    folder.mkdir(exist_ok=True)
    for split, size in (("train", 240), ("dev", 60)):
        with open(folder / f"sample_{split}.jsonl", "w", encoding="utf-8") as file:
            for _ in range(size):
                file.write(json.dumps(sentence(rng)) + "\n")


if __name__ == "__main__":
    main()
