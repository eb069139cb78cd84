"""The body chart: each injected point marked where its muscle is, on the patient's own side,
by the band of its pain change (shape and colour both).

Five panels, drawn from the geometry below (kept as data, so that tests can check it):
the body from the front and from the back, the head and neck from each side (its muscles are
too close together to read on the whole body), and the pelvic floor from below (its muscles are
internal, so they get a panel of their own instead of a spot on the skin).

Coordinates are the patient's LEFT side, in each panel's own units: on the body and the pelvic
floor, x is the distance from the midline towards the patient's left; on the head, x is the
distance forward (towards the face). The right side mirrors the left. Seen from the front (and
from below, the patient lying on the back) the patient's left is on the viewer's right; seen
from the back it is on the viewer's left. Every panel is labelled L and R (or by its side), so
a reader never has to work that out.

Each muscle has a region (the muscle's outline, shaded when it was injected) and up to three
anchors inside it: the first point in a muscle and side goes to the first anchor, the next to
the next; a point whose anchor is taken, or beyond the third, goes to the nearest free spot
inside the region, so no marker hides another.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from math import cos, hypot, pi, sin

from tplog.points import Point

XY = tuple[float, float]
Polygon = tuple[XY, ...]

FRONT, BACK, HEAD, PELVIS = "front", "back", "head", "pelvis"


# --- the outlines ---------------------------------------------------------------------------

# Half of the body (the patient's left), from the crown down the outside of the arm, round the
# hand (thumb outwards: the anatomical position, palms forward), up the inside of the arm,
# down the flank and the outside of the leg, round the foot and up the inside of the leg to the
# crotch. About eight heads tall (the head is 10-66 of 10-433).
_ARM_AND_TRUNK: Polygon = (
    (11, 62), (11, 72), (20, 79), (32, 83), (41, 88), (46, 95), (48, 104), (50, 122),
    (52, 150), (54, 180), (57, 215), (59, 246),
    # the hand: the thumb points away from the body
    (63, 252), (67, 259), (68, 266), (65, 268), (61, 263), (62, 274), (61, 286), (58, 293),
    (53, 293), (50, 287), (47, 276), (45, 262), (45, 250),
    (44, 246), (41, 212), (38, 182), (36, 150), (34, 128), (33, 126),
    (31, 140), (30, 160), (28, 180), (28, 195), (31, 212), (34, 228), (35, 245), (34, 262),
    (32, 290), (28, 318), (27, 333), (28, 346), (27, 360), (24, 380), (20, 398), (17, 410),
)
_FRONT_HEAD: Polygon = (
    (0, 10), (8, 11), (14, 15), (17, 22), (18, 32), (20, 35), (20, 44), (17, 47), (15, 54),
    (12, 60),
)
_BACK_HEAD: Polygon = (  # no face: the fuller back of the skull
    (0, 10), (9, 11), (15, 15), (18, 22), (19, 32), (20, 35), (20, 44), (18, 47), (16, 55),
    (12, 61),
)
# Seen from the front the foot points at the viewer (toes spread outwards); from the back
# only the heel shows.
_FRONT_FOOT_AND_LEG: Polygon = (
    (20, 418), (23, 426), (22, 432), (16, 434), (8, 434), (6, 428), (7, 418), (8, 410),
    (8, 395), (7, 370), (6, 352), (6, 335), (5, 318), (4, 290), (3, 266), (0, 258),
)
_BACK_FOOT_AND_LEG: Polygon = (
    (17, 418), (17, 428), (14, 434), (9, 434), (7, 428), (8, 418), (8, 410),
    (8, 395), (7, 370), (6, 352), (6, 335), (5, 318), (4, 290), (3, 266), (0, 258),
)


def _mirrored(half: Polygon) -> Polygon:
    """The whole outline from the left half (x >= 0): the left half, then the right one
    back up."""
    return half + tuple((-x, y) for x, y in reversed(half) if x != 0)


OUTLINES: dict[str, Polygon] = {
    FRONT: _mirrored(_FRONT_HEAD + _ARM_AND_TRUNK + _FRONT_FOOT_AND_LEG),
    BACK: _mirrored(_BACK_HEAD + _ARM_AND_TRUNK + _BACK_FOOT_AND_LEG),
    # The head and neck from the side, the face towards +x, the ear canal near (30, 40).
    HEAD: (
        (32, 4), (44, 6), (53, 12), (58, 22), (59, 30), (57, 34), (60, 40), (65, 48), (60, 51),
        (61, 55), (59, 60), (57, 65), (50, 67), (43, 67), (41, 74), (41, 86), (46, 96),
        (-4, 96), (2, 86), (9, 76), (13, 64), (8, 54), (5, 40), (7, 26), (14, 14), (22, 7),
    ),
    # The pelvic outlet from below, the patient lying on the back: the pubis at the top
    # (y 0), the coccyx at the bottom.
    PELVIS: _mirrored((
        (0, 0), (12, 1), (25, 6), (35, 16), (40, 30), (40, 46), (36, 60), (28, 72), (16, 82),
        (0, 86),
    )),
}

# Landmarks, each a polyline (or a closed ring where it ends where it starts), left side only
# unless they sit on the midline; drawn mirrored.
LANDMARKS: dict[str, tuple[Polygon, ...]] = {
    FRONT: (
        ((3, 84), (14, 86), (27, 85), (39, 89)),  # clavicle
        ((0, 86), (0, 140)),  # sternum
        ((0, 140), (12, 150), (22, 162), (27, 174)),  # costal margin
        ((20, 100), (25, 109)),  # edge of the chest (pectoral fold)
        ((31, 218), (10, 250)),  # inguinal ligament (below it, the groin)
        ((13, 316), (19, 316), (20, 324), (16, 328), (12, 324), (13, 316)),  # kneecap
        ((9, 342), (12, 400)),  # shin (tibia)
        ((-1, 185), (1, 185)),  # navel
    ),
    BACK: (
        ((0, 70), (0, 240)),  # spine (the spinous processes)
        ((14, 98), (30, 96), (37, 102), (31, 124), (20, 150), (14, 140), (14, 98)),  # scapula
        ((14, 108), (41, 92)),  # spine of the scapula, to the acromion
        ((7, 220), (18, 212), (30, 214), (34, 224)),  # iliac crest
        ((8, 222), (0, 252)),  # sacrum
        ((3, 264), (14, 268), (28, 263)),  # gluteal fold
        ((7, 332), (25, 332)),  # back of the knee
        ((6, 176), (22, 172)),  # 12th rib
    ),
    HEAD: (
        ((27, 33), (33, 33), (34, 46), (28, 47), (27, 33)),  # ear
        ((29, 36), (49, 36)),  # zygomatic arch
        ((33, 48), (34, 62), (44, 63), (56, 63)),  # mandible: ramus and body
        ((51, 31), (55, 31)),  # eye
        ((20, 93), (44, 92)),  # clavicle
        ((12, 50), (22, 48), (28, 50)),  # base of the skull (occiput to the mastoid)
    ),
    PELVIS: (
        ((-6, 0), (6, 0), (6, 6), (-6, 6), (-6, 0)),  # pubic symphysis
        ((-4, 22), (4, 22), (4, 38), (-4, 38), (-4, 22)),  # urogenital hiatus
        ((-4, 56), (4, 56), (4, 64), (-4, 64), (-4, 56)),  # anus
        ((24, 46), (30, 44), (33, 50), (28, 55), (24, 46)),  # ischial tuberosity
        ((-3, 80), (3, 80), (0, 86), (-3, 80)),  # coccyx
        ((31, 14), (35, 30), (34, 50)),  # arcus tendineus: where the levator hangs from
    ),
}


# --- where each muscle is -------------------------------------------------------------------

@dataclass(frozen=True)
class Site:
    """A muscle on the chart: which picture shows it, its region (the muscle's outline) and
    where its points go, all for the patient's left side."""

    view: str
    region: Polygon
    anchors: tuple[XY, ...]


SITES: dict[str, Site] = {
    # The head and neck, seen from the side (x forward).
    "temporalis": Site(HEAD, ((24, 20), (36, 12), (50, 16), (53, 28), (47, 35), (31, 35),
                              (23, 29)), ((38, 22), (47, 25), (29, 27))),
    "masseter": Site(HEAD, ((36, 37), (49, 37), (51, 60), (44, 62), (37, 60)),
                     ((45, 44), (46, 55), (40, 51))),
    # The pterygoids lie inside the ramus of the mandible (drawn dashed, as seen through it):
    # the lateral one high, towards the joint; the medial one low, at the angle.
    "lateral-pterygoid": Site(HEAD, ((31, 34), (48, 34), (48, 47), (31, 47)),
                              ((37, 41), (41, 42), (36, 43))),
    "medial-pterygoid": Site(HEAD, ((32, 47), (42, 50), (42, 60), (34, 62)),
                             ((36, 57), (39, 53), (35, 51))),
    "sternocleidomastoid": Site(HEAD, ((25, 48), (31, 50), (42, 84), (40, 92), (33, 92),
                                       (25, 56)), ((31, 66), (35, 78), (28, 57))),
    # In the floor of the posterior triangle, behind the SCM, down to the first rib.
    "anterior-scalene": Site(HEAD, ((30, 68), (36, 76), (36, 90), (29, 90), (26, 76)),
                             ((31, 84), (28, 78), (33, 89))),
    "levator-scapulae": Site(HEAD, ((21, 60), (26, 62), (25, 80), (20, 92), (13, 92),
                                    (17, 76)), ((21, 75), (22, 66), (17, 86))),
    "splenius-capitis": Site(HEAD, ((13, 50), (23, 52), (20, 64), (14, 78), (10, 74),
                                    (12, 62)), ((18, 62), (15, 70), (19, 55))),
    # Deep under the occiput, between the skull and the first two vertebrae.
    "suboccipitals": Site(HEAD, ((8, 47), (16, 47), (15, 61), (10, 61), (8, 54)),
                          ((12, 54), (13, 50), (11, 58))),
    # The front of the body.
    "pectoralis-major": Site(FRONT, ((3, 90), (26, 88), (37, 100), (34, 112), (24, 130),
                                     (4, 132)), ((10, 104), (9, 124), (27, 100))),
    # Deep to the major, from the coracoid process to ribs 3-5.
    "pectoralis-minor": Site(FRONT, ((28, 94), (33, 99), (26, 130), (12, 128), (14, 112)),
                             ((19, 116), (18, 123), (25, 108))),
    # On the front of the scapula, reached through the armpit.
    "subscapularis": Site(FRONT, ((25, 100), (33, 103), (33, 126), (31, 140), (24, 132), (23, 112)),
                          ((31, 119), (30, 111), (29, 126))),
    "deltoid": Site(FRONT, ((36, 88), (44, 90), (49, 100), (51, 118), (50, 134), (43, 128),
                            (38, 112), (35, 98)), ((43, 103), (46, 120), (40, 94))),
    "serratus-anterior": Site(FRONT, ((23, 130), (31, 128), (31, 162), (25, 160), (22, 145)),
                              ((26, 145), (27, 156), (27, 135))),
    "intercostals": Site(FRONT, ((5, 134), (22, 132), (24, 152), (18, 162), (8, 152)),
                         ((14, 144), (10, 138), (18, 154))),
    "rectus-abdominis": Site(FRONT, ((2, 150), (11, 150), (12, 218), (3, 224)),
                             ((6.5, 168), (6.5, 198), (7, 212))),
    "external-oblique": Site(FRONT, ((13, 160), (27, 168), (29, 185), (31, 210), (20, 206),
                                     (13, 190)), ((20, 180), (24, 196), (18, 192))),
    "iliopsoas": Site(FRONT, ((8, 232), (25, 224), (28, 246), (16, 260), (6, 252)),
                      ((15, 244), (20, 236), (12, 251))),
    "tensor-fasciae-latae": Site(FRONT, ((28, 222), (34, 228), (34, 250), (28, 252),
                                         (27, 236)), ((30, 238), (31, 228), (30, 247))),
    "adductors": Site(FRONT, ((4, 262), (14, 258), (18, 288), (10, 306), (4, 300)),
                      ((9, 276), (10, 290), (8, 265))),
    "vastus-lateralis": Site(FRONT, ((24, 260), (33, 262), (31, 298), (27, 318), (23, 300)),
                             ((28, 284), (27, 272), (27, 305))),
    "vastus-medialis": Site(FRONT, ((6, 290), (17, 292), (18, 314), (12, 322), (6, 314)),
                            ((11, 309), (12, 303), (9, 314))),
    "tibialis-anterior": Site(FRONT, ((14, 340), (25, 340), (22, 382), (17, 394), (13, 370)),
                              ((19, 358), (20, 346), (18, 376))),
    # The forearm in the anatomical position (palm forward): the brachioradialis on the thumb
    # side just below the elbow, the flexors on the front and inner side.
    "brachioradialis": Site(FRONT, ((46, 178), (54, 178), (56, 212), (50, 214), (45, 196)),
                            ((50, 190), (52, 204), (49, 182))),
    "forearm-flexors": Site(FRONT, ((39, 190), (46, 196), (50, 214), (56, 240), (46, 242),
                                    (41, 212)), ((46, 218), (50, 232), (44, 206))),
    # The back of the body.
    "upper-trapezius": Site(BACK, ((6, 66), (11, 72), (20, 79), (41, 88), (36, 96), (16, 92),
                                   (6, 88)), ((12, 80), (24, 87), (35, 91))),
    "middle-trapezius": Site(BACK, ((2, 92), (36, 96), (36, 100), (16, 112), (2, 114)),
                             ((7, 103), (19, 105), (28, 100))),
    "lower-trapezius": Site(BACK, ((2, 114), (16, 112), (18, 120), (6, 162), (2, 160)),
                            ((7, 141), (8, 129), (6, 152))),
    "rhomboids": Site(BACK, ((3, 96), (14, 100), (15, 140), (4, 128)),
                      ((10, 118), (11, 129), (9, 108))),
    "supraspinatus": Site(BACK, ((15, 100), (39, 92), (39, 99), (16, 108)),
                          ((27, 99), (34, 96), (19, 102))),
    "infraspinatus": Site(BACK, ((16, 112), (37, 102), (32, 120), (24, 140), (16, 132)),
                          ((22, 122), (27, 113), (20, 133))),
    "teres-minor": Site(BACK, ((31, 104), (40, 100), (41, 116), (34, 130), (28, 122)),
                        ((34, 117), (35, 110), (32, 124))),
    "teres-major": Site(BACK, ((20, 140), (30, 128), (40, 120), (40, 134), (26, 152)),
                        ((31, 136), (26, 142), (35, 130))),
    "latissimus-dorsi": Site(BACK, ((8, 162), (28, 136), (32, 142), (30, 175), (28, 200),
                                    (14, 210)), ((24, 160), (26, 174), (22, 190))),
    # The erector spinae: a column either side of the spine (never on the spinous processes);
    # its lateral column is the iliocostalis, its intermediate one the longissimus; the
    # multifidus lies deepest, next to the spine, thickest low down.
    "erector-spinae": Site(BACK, ((4, 120), (14, 120), (20, 180), (20, 228), (5, 232)),
                           ((10, 168), (12, 148), (12, 180))),
    "longissimus": Site(BACK, ((6, 140), (13, 140), (15, 226), (7, 228)),
                        ((11, 200), (10, 211), (9, 189))),
    "iliocostalis": Site(BACK, ((13, 140), (19, 140), (22, 222), (16, 224)),
                         ((19, 186), (19, 206), (17, 158))),
    "multifidus": Site(BACK, ((2, 150), (7, 150), (8, 236), (2, 240)),
                       ((6, 224), (6, 235), (6, 160))),
    # Deep, between the 12th rib and the iliac crest, outside the erector spinae.
    "quadratus-lumborum": Site(BACK, ((16, 184), (27, 184), (29, 212), (18, 214)),
                               ((23, 203), (24, 192), (21, 212))),
    "gluteus-medius": Site(BACK, ((14, 210), (33, 212), (35, 236), (20, 238)),
                           ((28, 226), (22, 223), (33, 229))),
    "gluteus-minimus": Site(BACK, ((22, 230), (35, 232), (35, 254), (24, 250)),
                            ((31, 241), (32, 248), (29, 238))),
    "gluteus-maximus": Site(BACK, ((4, 228), (22, 234), (32, 250), (30, 262), (16, 268),
                                   (3, 262)), ((15, 253), (24, 256), (8, 245))),
    # Deep, from the sacrum to the greater trochanter.
    "piriformis": Site(BACK, ((8, 234), (30, 236), (30, 246), (10, 242)),
                       ((19, 240), (26, 242), (12, 238))),
    "hamstrings": Site(BACK, ((8, 270), (28, 268), (26, 320), (10, 322)),
                       ((17, 294), (17, 280), (18, 308))),
    "forearm-extensors": Site(BACK, ((40, 188), (53, 186), (57, 240), (46, 240)),
                              ((48, 212), (46, 200), (51, 226))),
    "gastrocnemius": Site(BACK, ((8, 336), (26, 336), (24, 366), (10, 368)),
                          ((16, 350), (21, 346), (13, 360))),
    "soleus": Site(BACK, ((9, 368), (24, 368), (20, 398), (11, 398)),
                   ((15, 380), (17, 391), (20, 372))),
    # The pelvic floor from below: the pubococcygeus beside the hiatus, the iliococcygeus
    # behind and outside it, the coccygeus beside the coccyx, the obturator internus on the
    # side wall above the levator (seen outside its arcus tendineus).
    "levator-ani": Site(PELVIS, ((6, 6), (31, 14), (35, 32), (33, 52), (24, 70), (8, 74),
                                 (6, 40)), ((17, 36), (16, 66), (26, 60))),
    "pubococcygeus": Site(PELVIS, ((6, 6), (18, 8), (20, 24), (15, 46), (8, 58), (6, 40)),
                          ((10, 16), (10, 28), (11, 44))),
    "iliococcygeus": Site(PELVIS, ((20, 12), (31, 16), (33, 48), (24, 66), (10, 70),
                                   (14, 52), (20, 30)), ((25, 30), (26, 46), (20, 56))),
    "coccygeus": Site(PELVIS, ((4, 66), (24, 64), (28, 72), (14, 82), (4, 82)),
                      ((11, 76), (19, 73), (6, 78))),
    "obturator-internus": Site(PELVIS, ((33, 12), (38, 22), (40, 36), (39, 50), (34, 52),
                                        (35, 32), (31, 16)), ((36, 30), (37, 42), (35, 21))),
}


# --- the panels -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Panel:
    """One picture: what it shows (`view`), whose side when it shows one side only, its title,
    and where it sits: local (x, y) -> (origin_x + flip * x * scale, origin_y + y * scale)."""

    name: str
    view: str
    side: str | None
    title: str
    origin_x: float
    origin_y: float
    scale: float
    flip: int  # +1: the local +x to the viewer's right

    def screen(self, x: float, y: float, side: str) -> XY:
        local_x = x if self.side is not None or side == "L" else -x
        return (self.origin_x + self.flip * local_x * self.scale,
                self.origin_y + y * self.scale)

    def screen_polygon(self, polygon: Iterable[XY], side: str = "L") -> Polygon:
        return tuple(self.screen(x, y, side) for x, y in polygon)


_MAIN_TOP, _INSET_TOP = 40.0, 740.0
PANELS: tuple[Panel, ...] = (
    Panel("front", FRONT, None, "Front", 150, _MAIN_TOP, 1.55, +1),
    Panel("back", BACK, None, "Back", 450, _MAIN_TOP, 1.55, -1),
    # Looking at the patient's right side, the face points to the viewer's right.
    Panel("head-right", HEAD, "R", "Head and neck, right side", 30, _INSET_TOP, 2.5, +1),
    Panel("head-left", HEAD, "L", "Head and neck, left side", 380, _INSET_TOP, 2.5, -1),
    Panel("pelvis", PELVIS, None, "Pelvic floor, from below", 505, _INSET_TOP + 12, 2.2, +1),
)
PANEL_BY_NAME = {p.name: p for p in PANELS}
WIDTH, HEIGHT = 620, 1090


def panels_showing(muscle: str, side: str) -> Panel:
    """The panel where a point of this muscle and side is marked."""
    view = SITES[muscle].view
    return next(p for p in PANELS if p.view == view and p.side in (None, side))


def outline(panel: Panel) -> Polygon:
    """The body's outline in the panel, in the SVG's coordinates."""
    return panel.screen_polygon(OUTLINES[panel.view])


def region(muscle: str, side: str) -> Polygon:
    """The muscle's region for that side, in the SVG's coordinates."""
    return panels_showing(muscle, side).screen_polygon(SITES[muscle].region, side)


# --- the markers ----------------------------------------------------------------------------

RADIUS = 8.0  # every marker fits in a circle this big (SVG units)
GAP = 1.0  # between two markers


@dataclass(frozen=True)
class Marker:
    point: Point
    panel: Panel
    x: float
    y: float


def inside(polygon: Sequence[XY], x: float, y: float) -> bool:
    """Even-odd rule: a ray to the right crosses the outline an odd number of times."""
    crossings = False
    for (x1, y1), (x2, y2) in zip(polygon, (*polygon[1:], polygon[0]), strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            crossings = not crossings
    return crossings


def _free(x: float, y: float, taken: Sequence[XY]) -> bool:
    return all(hypot(x - tx, y - ty) >= 2 * RADIUS + GAP for tx, ty in taken)


def _spot(point: Point, nth: int, taken: list[XY]) -> tuple[Panel, XY]:
    """The nth point of this muscle and side: its anchor if free, else the nearest free spot
    in the region (spiralling out from the anchors), else (a crowded muscle) the spot in the
    region farthest from the other markers."""
    panel = panels_showing(point.muscle, point.side)
    site = SITES[point.muscle]
    anchors = [panel.screen(x, y, point.side) for x, y in site.anchors]
    first = anchors[nth % len(anchors)]
    if nth < len(anchors) and _free(*first, taken):
        return panel, first
    area = region(point.muscle, point.side)
    body = outline(panel)
    best, room = first, -1.0
    for ring in range(1, 40):
        for step in range(6 * ring):
            angle = 2 * pi * step / (6 * ring)
            for ax, ay in anchors:
                x, y = ax + 2.5 * ring * cos(angle), ay + 2.5 * ring * sin(angle)
                if not (inside(area, x, y) and inside(body, x, y)):
                    continue
                if _free(x, y, taken):
                    return panel, (x, y)
                nearest = min(hypot(x - tx, y - ty) for tx, ty in taken)
                if nearest > room:
                    best, room = (x, y), nearest
    return panel, best


def place(points: Sequence[Point]) -> list[Marker]:
    """Where each point's marker goes: first points at their first anchors (so a muscle's
    first point is always in the same place), then the rest."""
    seen: dict[tuple[str, str], int] = {}
    order = []
    for p in points:
        nth = seen.get((p.muscle, p.side), 0)
        seen[(p.muscle, p.side)] = nth + 1
        order.append((nth, p))
    taken: list[XY] = []
    markers: dict[int, Marker] = {}
    for index in sorted(range(len(order)), key=lambda i: order[i][0]):
        nth, p = order[index]
        panel, (x, y) = _spot(p, nth, taken)
        taken.append((x, y))
        markers[index] = Marker(p, panel, x, y)
    return [markers[i] for i in range(len(order))]


# --- the bands ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Band:
    key: str | None  # clinical.band_of
    label: str
    shape: str
    fill: str


# IMMPACT bands (reference: Dworkin 2008) and "worse" (pain that rose: reference, "Pain scale
# and outcome thresholds"). Shape and colour both carry the band, so it reads in greyscale and
# to a colour-blind reader: Okabe-Ito hues, lightened or darkened so that the fills' WCAG
# relative luminances are 0.18, 0.39, 0.59, 0.80 and 1.0 (at least 0.2 apart), all light enough
# for black numbers (contrast >= 4.5).
BANDS: tuple[Band, ...] = (
    Band("substantial", ">= 50 % less pain", "circle", "#008762"),
    Band("moderate", "30-49 % less pain", "square", "#4EB1E8"),
    Band("little", "< 30 % less pain", "diamond", "#F4EB70"),
    Band("worse", "more pain", "triangle", "#FFC031"),
    Band(None, "not known (no pain after, or none before)", "dashed", "#FFFFFF"),
)
BAND_BY_KEY = {b.key: b for b in BANDS}


# How the chart is drawn, in SVG units (the SVG here and tplog.export.pdf_chart both use these).
OUTLINE_FILL, OUTLINE_STROKE, OUTLINE_STROKE_WIDTH = "#f6f1ea", "#555", 1.4
LANDMARK_STROKE, LANDMARK_STROKE_WIDTH = "#9a8f84", 0.9
REGION_FILL, REGION_OPACITY = "#c9b8d8", 0.45
REGION_STROKE, REGION_STROKE_WIDTH = "#7a5c99", 0.8
DEEP_REGION = (3.0, 2.0)  # dash and gap
MARKER_STROKE, MARKER_STROKE_WIDTH = "#222", 1.2
DASHED_MARKER = (2.5, 1.5)
LEGEND_RADIUS = 7.0


@dataclass(frozen=True)
class Label:
    x: float  # the middle of the text
    y: float  # its baseline
    text: str
    size: float
    bold: bool = False
    colour: str | None = None  # None: black
    side: str | None = None  # the L or R beside a panel of both sides


@dataclass(frozen=True)
class LegendItem:
    band: Band | None  # None: a line of the note under the bands
    x: float
    y: float
    text_x: float
    text_y: float
    text: str
    size: float
    colour: str | None = None


def _number(value: float) -> str:
    return f"{value}"


def _shape(band: Band, x: float, y: float, r: float = RADIUS) -> str:
    common = f'fill="{band.fill}" stroke="{MARKER_STROKE}" ' \
             f'stroke-width="{_number(MARKER_STROKE_WIDTH)}"'
    if band.shape == "square":
        s = r * 0.78
        return f'<rect x="{x - s:.1f}" y="{y - s:.1f}" width="{2 * s:.1f}" ' \
               f'height="{2 * s:.1f}" {common}/>'
    if band.shape == "diamond":
        return (f'<polygon points="{x:.1f},{y - r:.1f} {x + r:.1f},{y:.1f} {x:.1f},'
                f'{y + r:.1f} {x - r:.1f},{y:.1f}" {common}/>')
    if band.shape == "triangle":
        top, base, half = y - r, y + r * 0.62, r * 0.95
        return (f'<polygon points="{x:.1f},{top:.1f} {x + half:.1f},{base:.1f} '
                f'{x - half:.1f},{base:.1f}" {common}/>')
    dash = ' stroke-dasharray="{} {}"'.format(*DASHED_MARKER) if band.shape == "dashed" \
        else ""
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r - 1:.1f}" {common}{dash}/>'


def number_size(position: int) -> float:
    """The font size of a marker's number (two digits smaller)."""
    return 9 if position < 10 else 7.5


def number_drop(band: Band) -> float:
    """From a marker's centre down to its number's baseline."""
    return 3.2 if band.shape != "triangle" else 4.5


def _marker(m: Marker) -> str:
    p, band = m.point, BAND_BY_KEY[m.point.band]
    title = escape(f"{p.position}. {p.muscle_name} {'left' if p.side == 'L' else 'right'}: "
                   f"pain {p.pain_before} → {'?' if p.pain_after is None else p.pain_after}"
                   f" ({band.label})")
    size = number_size(p.position)
    dy = number_drop(band)
    return (f'<g class="point" data-muscle="{p.muscle}" data-side="{p.side}" '
            f'data-view="{m.panel.view}" data-panel="{m.panel.name}" '
            f'data-band="{p.band or "unknown"}" data-x="{m.x:.1f}" data-y="{m.y:.1f}"'
            f'{_midline(m.panel)}>'
            f'<title>{title}</title>{_shape(band, m.x, m.y)}'
            f'<text x="{m.x:.1f}" y="{m.y + dy:.1f}" font-size="{size}" font-weight="bold" '
            f'text-anchor="middle" fill="#000">{p.position}</text></g>')


# --- drawing --------------------------------------------------------------------------------

def _path(points: Iterable[XY], closed: bool) -> str:
    coords = " L".join(f"{x:.1f} {y:.1f}" for x, y in points)
    return f"M{coords}{' Z' if closed else ''}"


def landmarks(panel: Panel) -> list[tuple[Polygon, bool]]:
    """The panel's landmark lines (clavicles, spine, ...), each with whether it is closed."""
    lines = []
    for line in LANDMARKS[panel.view]:
        closed = line[0] == line[-1]
        sides = ("L",) if panel.side is not None or all(x == 0 for x, _ in line) else "LR"
        for side in sides:
            lines.append((panel.screen_polygon(line, side), closed))
    return lines


def regions(panel: Panel, injected: set[tuple[str, str]]) -> list[tuple[str, str, Polygon,
                                                                         bool]]:
    """The injected muscles' regions in this panel: muscle, side, region, whether deep."""
    return [(muscle, side, region(muscle, side), muscle in _DEEP)
            for muscle, side in sorted(injected) if panels_showing(muscle, side) is panel]


def _panel(panel: Panel, injected: set[tuple[str, str]]) -> str:
    parts = [f'<g class="panel" data-panel="{panel.name}">',
             f'<path class="outline" d="{_path(outline(panel), True)}" '
             f'fill="{OUTLINE_FILL}" stroke="{OUTLINE_STROKE}" '
             f'stroke-width="{_number(OUTLINE_STROKE_WIDTH)}" stroke-linejoin="round"/>']
    for drawn, closed in landmarks(panel):
        parts.append(f'<path class="landmark" d="{_path(drawn, closed)}" fill="none" '
                     f'stroke="{LANDMARK_STROKE}" '
                     f'stroke-width="{_number(LANDMARK_STROKE_WIDTH)}"/>')
    for muscle, side, polygon, deep in regions(panel, injected):
        dash = ' stroke-dasharray="{:g} {:g}"'.format(*DEEP_REGION) if deep else ""
        parts.append(f'<path class="region" data-muscle="{muscle}" data-side="{side}" '
                     f'd="{_path(polygon, True)}" fill="{REGION_FILL}" '
                     f'fill-opacity="{_number(REGION_OPACITY)}" stroke="{REGION_STROKE}" '
                     f'stroke-width="{_number(REGION_STROKE_WIDTH)}"{dash}/>')
    parts.append(_labels(panel))
    parts.append("</g>")
    return "".join(parts)


# Muscles under others (their regions dashed: seen through what covers them).
_DEEP = frozenset({"lateral-pterygoid", "medial-pterygoid", "anterior-scalene",
                   "suboccipitals", "pectoralis-minor", "subscapularis", "multifidus",
                   "quadratus-lumborum", "gluteus-minimus", "piriformis", "iliopsoas",
                   "longissimus", "iliocostalis", "rhomboids", "obturator-internus"})


def labels(panel: Panel) -> list[Label]:
    """The panel's title, then which way the face points (one side) or L and R (both)."""
    top = panel.origin_y - 14
    found = [Label(_centre(panel), top, panel.title, 12, bold=True)]
    if panel.side is not None:  # one side: say which way the face points
        face = "face →" if panel.flip > 0 else "← face"
        return [*found, Label(_centre(panel), top + 14, face, 10, colour="#555")]
    reach = 44 if panel.view == PELVIS else 62
    height = 20 if panel.view == PELVIS else 70
    return [*found, *(Label(*panel.screen(reach, height, side), side, 13, bold=True,
                            side=side) for side in "LR")]


def _labels(panel: Panel) -> str:
    parts = []
    for label in labels(panel):
        bold = ' font-weight="bold"' if label.bold else ""
        fill = f' fill="{label.colour}"' if label.colour else ""
        side = f' class="side-label" data-side="{label.side}"' if label.side else ""
        parts.append(f'<text x="{label.x:.1f}" y="{label.y:.1f}" text-anchor="middle" '
                     f'font-size="{label.size}"{bold}{fill}{side}>{escape(label.text)}</text>')
    return "".join(parts)


def _midline(panel: Panel) -> str:
    """Where the panel's midline is (panels of one side have none)."""
    return "" if panel.side is not None else f' data-midline="{panel.origin_x:.1f}"'


def _centre(panel: Panel) -> float:
    if panel.side is None:
        return panel.origin_x
    return panel.origin_x + panel.flip * 30 * panel.scale


_NOTE = ("L and R are the patient's left and right: from the front and from below the "
         "patient's left is on your right; from the back, on your left. Shaded: the "
         "muscles injected (dashed: under other muscles).")


def legend(top: float) -> list[LegendItem]:
    """Each band's shape and label, two a row, then the note in two lines."""
    items = []
    for i, band in enumerate(BANDS):
        x, y = 20 + 300 * (i % 2), top + 22 * (i // 2)
        items.append(LegendItem(band, x, y, x + 14, y + 4, band.label, 11))
    for line, text in enumerate((_NOTE[:96], _NOTE[96:])):
        items.append(LegendItem(None, 20, top, 20, top + 70 + 14 * line, text, 10, "#444"))
    return items


def _legend(top: float) -> str:
    parts = []
    for item in legend(top):
        fill = f' fill="{item.colour}"' if item.colour else ""
        text = (f'<text x="{item.text_x}" y="{item.text_y}" font-size="{item.size}"{fill}>'
                f'{escape(item.text)}</text>')
        if item.band is None:
            parts.append(text)
            continue
        parts.append(f'<g class="legend-band" data-band="{item.band.key or "unknown"}" '
                     f'data-fill="{item.band.fill}">'
                     f'{_shape(item.band, item.x, item.y, LEGEND_RADIUS)}{text}</g>')
    return "".join(parts)


def svg(points: Sequence[Point]) -> str:
    """The body chart of one visit's points, as inline SVG."""
    markers = place(points)
    injected = {(p.muscle, p.side) for p in points}
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="body-chart" role="img" '
            f'aria-label="Body chart of the injected trigger points" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
            'font-family="sans-serif" style="max-width: 100%; height: auto">'
            + "".join(_panel(panel, injected) for panel in PANELS)
            + "".join(_marker(m) for m in markers)
            + _legend(HEIGHT - 88) + "</svg>")
