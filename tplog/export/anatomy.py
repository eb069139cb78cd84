"""The body chart's anatomy, kept as data (so that tests can check it): the outline of each
view, its landmark lines, and each muscle's region and anchors (tplog.export.bodychart draws
them).

Coordinates are the patient's LEFT side, in each view's own units: on the body and the pelvic
floor, x is the distance from the midline towards the patient's left; on the head, x is the
distance forward (towards the face). The right side mirrors the left.
"""

from __future__ import annotations

from dataclasses import dataclass

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
