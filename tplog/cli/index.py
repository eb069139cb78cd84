"""Where each command lives and its one-line help.

`tplog --help` and shell completion of command names read this table and load no command
module; running a command imports only its own module (start-up time, issue 6). A test checks
every line against the command it names, so the two cannot drift apart.
"""

# name -> ("module:attribute", the first paragraph of the command's help)
COMMANDS: dict[str, tuple[str, str]] = {
    "log": ("tplog.cli.log:log",
            "Log a visit: every injected trigger point, all saved or none."),
    "history": ("tplog.cli.visits:history",
                "A patient's visits with their points and the change in pain, newest first."),
    "followup": ("tplog.cli.visits:followup",
                 "Record pain reported after a visit (a call, the next visit): how long relief "
                 "lasted."),
    "event": ("tplog.cli.visits:event",
              "Record an adverse event after a visit (vasovagal, haematoma, anaesthetic "
              "toxicity, pneumothorax, infection, allergic reaction, other)."),
    "trend": ("tplog.cli.reports:trend",
              "Pain before and after at each visit, per muscle and side, oldest first."),
    "summary": ("tplog.cli.reports:summary",
                "Outcomes across all patients: visits, points, pain before/after, responders, "
                "twitch."),
    "visits": ("tplog.cli.reports:visits",
               "Visits across patients by muscle, condition or practitioner, newest first."),
    "export": ("tplog.cli.exchange:export",
               "Export visit summaries (voided visits are left out). Every export is audited."),
    "import": ("tplog.cli.exchange:import_",
               "Import visits from CSV: every row checked first; a bad row imports nothing."),
    "muscles": ("tplog.cli.reports:muscles",
                "The muscles tplog knows, by region, with their SNOMED CT codes where "
                "verified."),
    "conditions": ("tplog.cli.reports:conditions",
                   "The conditions treated, with ICD-10-CM codes."),
    "drugs": ("tplog.cli.reports:drugs",
              "The drugs (name and concentration) a point can be injected with."),
    "demo": ("tplog.cli.demo:demo",
             "Build a throwaway database of fictional patients and show what tplog does."),
    "patient": ("tplog.cli.patients:patient_app",
                "Add, list and show patients; record their weight and pre-procedure screen; "
                "merge a duplicate."),
    "practitioner": ("tplog.cli.practitioners:practitioner_app",
                     "Practitioners as records: name, credentials, NPI."),
    "due": ("tplog.cli.reports:due",
            "Visits with no follow-up yet, the given days or more after them, oldest first."),
    "visit": ("tplog.cli.visits:visit_app", "Show, amend, add to or void a logged visit."),
    "audit": ("tplog.cli.audit:audit_app",
              "The audit trail: who did what, when, and whether it holds."),
    "db": ("tplog.cli.database:db_app", "Where the database is, its schema revision, upgrades."),
    "config": ("tplog.cli.settings:config_app",
               "The settings file: defaults, dose limits, check intervals."),
}
