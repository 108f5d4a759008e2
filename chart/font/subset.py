#!/usr/bin/python3
"""Builds chart.ttf, the chart's font: Noto Sans (Latin, Greek-free) and
Noto Sans Arabic (Arabic letters and their presentation forms) from
Debian's fonts-noto-core, cut to the characters the chart draws and
merged into one file. The chart shapes Arabic itself (presentation forms),
so layout tables are dropped.

    apt-get download fonts-noto-core && dpkg-deb -x fonts-noto-core_*.deb x
    /usr/bin/python3 subset.py x/usr/share/fonts/truetype/noto
"""
import os
import sys
import tempfile
from fontTools import subset
from fontTools.merge import Merger
from fontTools.ttLib import TTFont

src = sys.argv[1]
latin = list(range(0x20, 0x7F)) + list(range(0xA0, 0x180)) + [
    0x2013, 0x2014, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2026, 0x2039, 0x203A, 0x20AC, 0x2212]
arabic = list(range(0x060C, 0x060D)) + list(range(0x061B, 0x061C)) + list(range(0x061F, 0x0620)) + \
    list(range(0x0621, 0x063B)) + list(range(0x0640, 0x0653)) + list(range(0x0660, 0x066E)) + \
    list(range(0xFE70, 0xFEFD))


def cut(name, chars, out):
    opts = subset.Options()
    opts.layout_features = []
    opts.drop_tables += ['GSUB', 'GPOS', 'GDEF', 'DSIG']
    opts.hinting = False
    opts.name_IDs = ['*']
    f = TTFont(f'{src}/{name}')
    s = subset.Subsetter(opts)
    s.populate(unicodes=chars)
    s.subset(f)
    f.save(out)


tmp = tempfile.mkdtemp()
latin_file, arabic_file = os.path.join(tmp, 'latin.ttf'), os.path.join(tmp, 'arabic.ttf')
cut('NotoSans-Regular.ttf', latin, latin_file)
cut('NotoSansArabic-Regular.ttf', arabic, arabic_file)
# The Latin font first: its glyphs win for the characters both have.
m = Merger().merge([latin_file, arabic_file])
for rec in m['name'].names:
    if rec.nameID in (1, 4, 16):
        rec.string = 'Citybot Chart Sans'
    elif rec.nameID == 6:
        rec.string = 'CitybotChartSans-Regular'
m.save('chart.ttf')
