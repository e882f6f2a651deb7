"""Merge a fresh .pot into a .po: keep translations of unchanged msgids, add new
entries untranslated, drop obsolete ones. Lists what is left to translate."""
import sys

import polib

pot_path, po_path = sys.argv[1:3]
pot = polib.pofile(pot_path, wrapwidth=78)
try:
    old = {(entry.msgctxt, entry.msgid): entry for entry in polib.pofile(po_path)}
except OSError:
    old = {}
po = polib.POFile(wrapwidth=78)
po.header = pot.header
po.metadata = {**pot.metadata, "Language": "vi", "Plural-Forms": "nplurals=1; plural=0;"}
for entry in pot:
    previous = old.get((entry.msgctxt, entry.msgid))
    entry.msgstr = previous.msgstr if previous else ""
    po.append(entry)
po.save(po_path)
missing = [entry.msgid for entry in po if not entry.msgstr]
print(f"{po_path}: {len(po)} entries, {len(missing)} untranslated")
for msgid in missing:
    print("  untranslated:", msgid.replace("\n", "\\n")[:100])
