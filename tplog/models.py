"""The records: patients, their visits, and each injected trigger point.

Schema changes go through an Alembic revision in alembic/versions, never create_all().
Nullable findings stay NULL when not recorded: NULL is "not recorded", never "no" or "none".
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, foreign, mapped_column, relationship

from tplog.parse import EventOutcome, Pregnancy, ScreeningKind, Severity, Sex, Side, Soreness
from tplog.procedure import Consent

# Named constraints so that Alembic batch operations on SQLite can find and alter them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def closed_set(choices: type[StrEnum], name: str, length: int) -> Enum:
    """A column that holds one of an enum's values (L, R; not LEFT, RIGHT), checked by the
    database (a CHECK named by the convention, as revision 0001 made it) and read back as the
    enum."""
    return Enum(choices, name=name, native_enum=False, create_constraint=True, length=length,
                values_callable=lambda members: [member.value for member in members],
                validate_strings=True)


class Patient(Base):
    __tablename__ = "patient"
    __table_args__ = (
        CheckConstraint("weight_kg > 0", name="weight_kg_positive"),
        Index("ix_patient_merged_into", "merged_into"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mrn: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[dt.date | None] = mapped_column(Date)
    sex: Mapped[Sex | None] = mapped_column(closed_set(Sex, "sex", 10))
    weight_kg: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(100))
    # A duplicate record merged into another (revision 0009): the patient whose visits,
    # follow-ups and weights these now are. Always the final one: a merge into a patient that
    # others were merged into re-points them too, so one join resolves any record's owner.
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("patient.id"))

    visits: Mapped[list[Visit]] = relationship(back_populates="patient")
    weights: Mapped[list[PatientWeight]] = relationship(
        order_by="(PatientWeight.measured_on, PatientWeight.id)")


class PatientWeight(Base):
    """A dated weight: the dose check uses the latest on or before a visit's date.

    (`patient.weight_kg` is the weight given when the patient was added, kept as written for
    the audit trail; revision 0006 carried each one over as a measurement of that day.)
    """

    __tablename__ = "patient_weight"
    __table_args__ = (
        CheckConstraint("weight_kg > 0", name="weight_kg_positive"),
        Index("ix_patient_weight_patient", "patient_id", "measured_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    measured_on: Mapped[dt.date] = mapped_column(Date)
    weight_kg: Mapped[float] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(100))


class Practitioner(Base):
    """Who injects, takes a follow-up or signs: a record with credentials and a US NPI.

    Visits, follow-ups, addenda and voids keep the practitioner's name as written (their
    digests cover it); a record links to them by that name, which is why a name is unique and
    never changed (revision 0013). Credentials and NPI may be corrected (audited), the record
    never deleted.
    """

    __tablename__ = "practitioner"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    credentials: Mapped[str | None] = mapped_column(String(200))  # "MD, FAAPMR"
    npi: Mapped[str | None] = mapped_column(String(10), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(100))


class PatientMerge(Base):
    """A duplicate patient merged into the right one: why, when, by whom. The duplicate's
    rows stay where they were written (visits and the audit trail are append-only); every
    read of a patient's records takes those of the patients merged into it too."""

    __tablename__ = "patient_merge"

    from_patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), primary_key=True,
                                                 autoincrement=False)
    into_patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    reason: Mapped[str] = mapped_column(Text)
    merged_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    merged_by: Mapped[str] = mapped_column(String(100))
    practitioner: Mapped[str] = mapped_column(String(200))


class Visit(Base):
    """A visit's identity. What happened at it lives in its revisions: a logged visit is never
    changed in place, only superseded by a newer revision, voided, or added to."""

    __tablename__ = "visit"
    __table_args__ = (Index("ix_visit_patient", "patient_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(100))

    patient: Mapped[Patient] = relationship(back_populates="visits")
    revisions: Mapped[list[VisitRevision]] = relationship(
        back_populates="visit", order_by="VisitRevision.number")
    void: Mapped[VisitVoid | None] = relationship()
    addenda: Mapped[list[VisitAddendum]] = relationship(order_by="VisitAddendum.id")
    follow_ups: Mapped[list[FollowUp]] = relationship(
        order_by="(FollowUp.reported_on, FollowUp.id)")
    adverse_events: Mapped[list[AdverseEvent]] = relationship(
        order_by="(AdverseEvent.occurred_on, AdverseEvent.id)")


class VisitRevision(Base):
    """One version of a visit's record; the highest number is the one in force."""

    __tablename__ = "visit_revision"
    __table_args__ = (
        UniqueConstraint("visit_id", "number"),
        Index("ix_visit_revision_date", "visit_date"),
        # Reference, "Outcome measures that are free to use": PEG, three 0-10 items (Krebs et
        # al. 2009); NULL when not asked.
        CheckConstraint("peg_pain BETWEEN 0 AND 10", name="peg_pain_range"),
        CheckConstraint("peg_enjoyment BETWEEN 0 AND 10", name="peg_enjoyment_range"),
        CheckConstraint("peg_activity BETWEEN 0 AND 10", name="peg_activity_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"))
    number: Mapped[int]  # 1 for the visit as logged, 2 for its first amendment, ...
    visit_date: Mapped[dt.date] = mapped_column(Date)
    practitioner: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)  # why it was amended; None as logged
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(100))
    # The procedure as documented (revision 0010; tplog.procedure.FIELDS): None is "not
    # recorded", as for a point's findings. Reference, "What a trigger point injection visit
    # records": consent and time-out, ultrasound guidance, needle gauge and length, aspiration.
    consent: Mapped[Consent | None] = mapped_column(closed_set(Consent, "consent", 10))
    time_out: Mapped[bool | None]
    ultrasound: Mapped[bool | None]
    needle_gauge: Mapped[int | None]
    needle_length_mm: Mapped[float | None] = mapped_column(Float)
    aspirated: Mapped[bool | None]
    # PEG (revision 0013): pain, interference with enjoyment of life, with general activity.
    peg_pain: Mapped[int | None]
    peg_enjoyment: Mapped[int | None]
    peg_activity: Mapped[int | None]
    # Pregnancy status at the visit (revision 0012): NULL when not asked, "unknown" when asked
    # and not known.
    pregnant: Mapped[Pregnancy | None] = mapped_column(closed_set(Pregnancy, "pregnant", 10))

    visit: Mapped[Visit] = relationship(back_populates="revisions")
    conditions: Mapped[list[VisitCondition]] = relationship(
        order_by="(VisitCondition.position, VisitCondition.condition)", cascade="all")
    points: Mapped[list[InjectedPoint]] = relationship(
        order_by="InjectedPoint.position", cascade="all")
    warnings: Mapped[list[VisitWarning]] = relationship(
        order_by="VisitWarning.id", cascade="all")
    range_of_motion: Mapped[list[RangeOfMotion]] = relationship(
        order_by="RangeOfMotion.position", cascade="all")
    # The practitioner's record, linked by the name the revision holds (revision 0013).
    practitioner_record: Mapped[Practitioner | None] = relationship(
        primaryjoin=lambda: foreign(VisitRevision.practitioner) == Practitioner.name,
        viewonly=True)
    lots: Mapped[list[InjectateLot]] = relationship(order_by="InjectateLot.id", cascade="all")


class VisitWarning(Base):
    """A safety check's finding when the visit was logged, and how it was confirmed."""

    __tablename__ = "visit_warning"
    __table_args__ = (Index("ix_visit_warning_revision", "revision_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("visit_revision.id"))
    # dose, weight, reinjection, sessions, repeat, thorax (tplog.services.safety)
    kind: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text)
    # For a dose over the limit: how the practitioner confirmed saving it anyway.
    confirmation: Mapped[str | None] = mapped_column(String(100))


class VisitCondition(Base):
    """A condition treated at a visit (a key of tplog.vocab.CONDITIONS)."""

    __tablename__ = "visit_condition"

    revision_id: Mapped[int] = mapped_column(ForeignKey("visit_revision.id"), primary_key=True)
    condition: Mapped[str] = mapped_column(String(60), primary_key=True)
    # Order of entry from 1: the first is the primary diagnosis. NULL on visits logged before
    # revision 0006, which kept their conditions in alphabetical order.
    position: Mapped[int | None]


class InjectedPoint(Base):
    __tablename__ = "injected_point"
    __table_args__ = (
        # Reference: pain on the 0-10 numeric rating scale (LOINC 72514-3).
        CheckConstraint("pain_before BETWEEN 0 AND 10", name="pain_before_range"),
        CheckConstraint("pain_after BETWEEN 0 AND 10", name="pain_after_range"),
        CheckConstraint("volume_ml > 0", name="volume_ml_positive"),
        Index("ix_injected_point_revision", "revision_id", "position"),
        Index("ix_injected_point_muscle", "muscle"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("visit_revision.id"))
    position: Mapped[int] = mapped_column(Integer)  # order of entry within the visit, from 1
    muscle: Mapped[str] = mapped_column(String(60))
    side: Mapped[Side] = mapped_column(closed_set(Side, "side", 1))
    twitch_response: Mapped[bool | None]
    pain_before: Mapped[int]
    pain_after: Mapped[int | None]
    soreness: Mapped[Soreness | None] = mapped_column(closed_set(Soreness, "soreness", 10))
    numbness: Mapped[bool | None]
    drug: Mapped[str | None] = mapped_column(String(40))
    volume_ml: Mapped[float | None] = mapped_column(Float)
    # The trigger point's signs beside the twitch (revision 0010; reference, "What a trigger
    # point injection visit records": taut band, jump sign, referred pain reproduced).
    taut_band: Mapped[bool | None]
    jump_sign: Mapped[bool | None]
    referred_pain: Mapped[bool | None]
    # A mixture (revision 0011): each drug's key and mL, `lidocaine-1:1+triamcinolone-40:0.5`
    # (parse.mixture_text); drug and volume_ml are then NULL. A one-drug point keeps using
    # drug and volume_ml, as every point did before.
    injectate: Mapped[str | None] = mapped_column(Text)


class RangeOfMotion(Base):
    """A range of motion measured at a visit, before and/or after the injections (revision
    0010): part of its revision, like the points (written once, digested with it). Degrees,
    or mm for jaw opening (tplog.vocab.MOVEMENTS); no normal values are shipped: the reference
    gives none."""

    __tablename__ = "range_of_motion"
    __table_args__ = (
        CheckConstraint("value_before >= 0", name="value_before_range"),
        CheckConstraint("value_after >= 0", name="value_after_range"),
        Index("ix_range_of_motion_revision", "revision_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("visit_revision.id"))
    position: Mapped[int] = mapped_column(Integer)  # order of entry within the visit, from 1
    movement: Mapped[str] = mapped_column(String(40))  # a key of tplog.vocab.MOVEMENTS
    side: Mapped[Side | None] = mapped_column(closed_set(Side, "side", 1))
    value_before: Mapped[int | None]
    value_after: Mapped[int | None]


class InjectateLot(Base):
    """A drug's lot number and expiry at a visit (revision 0011), part of its revision."""

    __tablename__ = "injectate_lot"
    __table_args__ = (Index("ix_injectate_lot_revision", "revision_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("visit_revision.id"))
    drug: Mapped[str] = mapped_column(String(40))
    lot: Mapped[str] = mapped_column(String(40))
    expiry: Mapped[str] = mapped_column(String(10))  # YYYY-MM or YYYY-MM-DD, as on the vial


class VisitVoid(Base):
    """A visit marked as entered in error: out of history and summaries, never removed."""

    __tablename__ = "visit_void"

    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    voided_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    voided_by: Mapped[str] = mapped_column(String(100))
    practitioner: Mapped[str] = mapped_column(String(200))


class VisitAddendum(Base):
    """A dated, signed note appended to a visit."""

    __tablename__ = "visit_addendum"
    __table_args__ = (Index("ix_visit_addendum_visit", "visit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(100))
    practitioner: Mapped[str] = mapped_column(String(200))  # who signs it


class FollowUp(Base):
    """Pain reported after the visit (a phone call, the next visit), with its date."""

    __tablename__ = "follow_up"
    __table_args__ = (
        CheckConstraint("pain BETWEEN 0 AND 10", name="pain_range"),
        Index("ix_follow_up_visit", "visit_id"),
        # Reference, "Outcome measures that are free to use": PEG, three 0-10 items (Krebs et
        # al. 2009); NULL when not asked.
        CheckConstraint("peg_pain BETWEEN 0 AND 10", name="peg_pain_range"),
        CheckConstraint("peg_enjoyment BETWEEN 0 AND 10", name="peg_enjoyment_range"),
        CheckConstraint("peg_activity BETWEEN 0 AND 10", name="peg_activity_range"),
        # PGIC, 1 "very much improved" to 7 "very much worse" (reference: Farrar et al. 2001).
        CheckConstraint("pgic BETWEEN 1 AND 7", name="pgic_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"))
    pain: Mapped[int]  # 0-10 NRS, the same scale as the visit's (reference: LOINC 72514-3)
    reported_on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(100))
    practitioner: Mapped[str] = mapped_column(String(200))
    # PEG (revision 0013): pain, interference with enjoyment of life, with general activity.
    peg_pain: Mapped[int | None]
    peg_enjoyment: Mapped[int | None]
    peg_activity: Mapped[int | None]
    pgic: Mapped[int | None]  # 1-7 (tplog.vocab.PGIC)


class AuditEvent(Base):
    """One link of the audit chain: every write, export and backup appends one.

    `hash` covers this event's fields, the digest of the record it wrote and the previous
    event's hash, so an edited, deleted or reordered row breaks the chain (tplog audit verify).
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_patient", "patient_id"),
        Index("ix_audit_event_record", "record_table", "record_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    os_user: Mapped[str] = mapped_column(String(100))
    practitioner: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(Text)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"))
    record_table: Mapped[str | None] = mapped_column(String(40))
    record_id: Mapped[int | None]
    record_hash: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class DeidentificationKey(Base):
    """The database's secret for `tplog export --deidentify --shift-dates`: each patient's date
    shift and research id are derived from it (HMAC-SHA256), so they are the same in every
    export of this database and differ from another database's.

    One row (id 1), made by revision 0007 with 32 random bytes (as hex); never updated nor
    deleted (guards.py). Not audited: it is no record of care (see revision 0007).
    """

    __tablename__ = "deidentification_key"
    __table_args__ = (
        CheckConstraint("id = 1", name="one_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class PatientScreening(Base):
    """One dated fact of the pre-procedure screen (revision 0012): an allergy, anticoagulant or
    antiplatelet use going on or off, a bleeding disorder or none. Never changed: an allergy
    that resolved or was entered in error gets a new record that `closes` it, and a newer
    anticoagulant or bleeding-disorder record supersedes the older ones."""

    __tablename__ = "patient_screening"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'resolved', 'entered-in-error', 'on', 'off', "
                        "'yes', 'no')", name="status_known"),
        Index("ix_patient_screening_patient", "patient_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    kind: Mapped[ScreeningKind] = mapped_column(closed_set(ScreeningKind, "kind", 20))
    # allergy: active, resolved, entered-in-error; anticoagulant: on, off; bleeding: yes, no
    status: Mapped[str] = mapped_column(String(20))
    # The allergen, or the anticoagulant/antiplatelet, as the clinician wrote it.
    substance: Mapped[str | None] = mapped_column(String(200))
    reaction: Mapped[str | None] = mapped_column(Text)
    effective_on: Mapped[dt.date | None] = mapped_column(Date)  # since, or on which day
    note: Mapped[str | None] = mapped_column(Text)
    # For a resolved or entered-in-error allergy: the allergy record it ends.
    closes: Mapped[int | None] = mapped_column(ForeignKey("patient_screening.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(100))
    practitioner: Mapped[str] = mapped_column(String(200))


class AdverseEvent(Base):
    """Something that went wrong after a visit's injections (revision 0012): a kind from
    tplog.vocab.ADVERSE_EVENT_KINDS, when, how severe, how it ended."""

    __tablename__ = "adverse_event"
    __table_args__ = (Index("ix_adverse_event_visit", "visit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"))
    kind: Mapped[str] = mapped_column(String(30))
    severity: Mapped[Severity | None] = mapped_column(closed_set(Severity, "severity", 10))
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    outcome: Mapped[EventOutcome | None] = mapped_column(
        closed_set(EventOutcome, "outcome", 30))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(100))
    practitioner: Mapped[str] = mapped_column(String(200))
