"""``registru demo``: demo users, organizations and people (idempotent).

The demo password is ``REGISTRU_DEMO_PASSWORD`` when set, ``registru-demo`` otherwise: for a
demo on your own machine only. Never run this on a production database.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from stdnum.ro import cui as ro_cui

from registru.accounts import services as accounts
from registru.accounts.models import Team, User
from registru.accounts.roles import Role
from registru.core.actors import SystemActor
from registru.people import services as people
from registru.people.models import Organization, Person

ACTOR = SystemActor("demo data")

TEAMS = ("Vânzări București", "Vânzări Cluj")
USERS = (
    # username, role, team index, first name, last name
    ("admin", Role.ADMINISTRATOR, None, "Adi", "Administrator"),
    ("dora", Role.DPO, None, "Dora", "Dumitrescu"),
    ("bob", Role.MANAGER, 0, "Bogdan", "Barbu"),
    ("alice", Role.AGENT, 0, "Alice", "Anghel"),
    ("andrei", Role.AGENT, 0, "Andrei", "Avram"),
    ("carmen", Role.AGENT, 1, "Carmen", "Cristea"),
    ("mara", Role.MARKETING, None, "Mara", "Marin"),
    ("audra", Role.AUDITOR, None, "Audra", "Ardeleanu"),
)
ORGANIZATIONS = (
    # name, status, country, city, county, industry, owner, cui digits seed / VAT
    ("Țesătoria Mureșul SRL", "customer", "RO", "Târgu Mureș", "Mureș", "Textile", "alice", 1854729),
    ("Brutăria Ștefănescu SRL", "prospect", "RO", "Ploiești", "Prahova", "Alimentație", "alice", 3120458),
    ("Agroind Bărăgan SA", "customer", "RO", "Slobozia", "Ialomița", "Agricultură", "andrei", 2209917),
    ("Clinica Sănătatea Ta SRL", "partner", "RO", "Iași", "Iași", "Sănătate", "andrei", 3567120),
    ("Transilvania Software SRL", "customer", "RO", "Cluj-Napoca", "Cluj", "IT", "carmen", 4011623),
    ("Construcții Someș SA", "supplier", "RO", "Dej", "Cluj", "Construcții", "carmen", 1377204),
    ("Editura Cărturești Nord SRL", "prospect", "RO", "Suceava", "Suceava", "Editură", "bob", 2981135),
    ("Nordlicht Logistik GmbH", "partner", "DE", "Hamburg", "", "Logistică", "bob", "DE136695976"),
    ("Lumière Conseil SAS", "prospect", "FR", "Lyon", "", "Consultanță", "alice", "FR40303265045"),
)
GIVEN = ("Ioana", "Andreea", "Mihai", "Ștefan", "Raluca", "Tudor", "Bianca", "Răzvan", "Cătălina",
         "Ovidiu", "Iuliana", "Sorin", "Alexandra", "Cristian", "Elena", "Vlad", "Anca",
         "Gheorghe")  # fmt: skip
FAMILY = ("Popescu", "Ionescu", "Stănescu", "Dumitru", "Țurcanu", "Munteanu", "Constantinescu",
          "Gheorghiu", "Rădulescu", "Niculescu", "Băluță", "Șerban", "Lungu", "Mocanu", "Oprea")  # fmt: skip
FOREIGN = {
    "DE": (("Anna", "Müller"), ("Lukas", "Schröder"), ("Jürgen", "Weiß")),
    "FR": (("Camille", "Lefèvre"), ("Julien", "Moreau"), ("Hélène", "Girard")),
}
TITLES = ("Director general", "Director financiar", "Manager achiziții", "Contabil șef",
          "Head of Procurement", "Office manager", "Inginer", "Director vânzări")  # fmt: skip


PURPOSES = (
    ("newsletter", "Buletin informativ", "Newsletter", ["email"],
     ("Registru Demo SRL vă trimite lunar, prin e-mail, noutățile despre produsele și serviciile sale. "
      "Datele folosite: numele și adresa de e-mail. Vă puteți retrage oricând din link-ul din fiecare mesaj."),
     ("Registru Demo SRL sends you its news about products and services by email, once a month. "
      "Data used: your name and email address. You can withdraw at any time from the link in every message.")),
    ("offers", "Oferte comerciale", "Commercial offers", ["email", "sms"],
     ("Vă trimitem oferte personalizate prin e-mail sau SMS, cel mult de două ori pe lună. "
      "Vă puteți retrage oricând."),
     "We send you tailored offers by email or SMS, at most twice a month. You can withdraw at any time."),
    ("events", "Invitații la evenimente", "Event invitations", ["email"],
     "Vă invităm la conferințele și atelierele noastre. Datele folosite: numele și adresa de e-mail.",
     "We invite you to our conferences and workshops. Data used: your name and email address."),
)  # fmt: skip
CAMPAIGN = {
    "name": "Acord de marketing 2026", "channels": ["email"], "audience": {"consent": "missing"},
    "subject_ro": "Ne dați voie să vă scriem?", "subject_en": "May we write to you?",
    "body_ro": "Bună ziua, {name}!\n\nVrem să vă trimitem doar ce ați ales. Alegeți aici, în mai puțin "
               "de un minut:\n{link}\n\nDacă nu răspundeți, nu vă trimitem nimic de marketing.",
    "body_en": "Hello {name},\n\nWe only want to send you what you chose. Choose here, in under a minute:\n"
               "{link}\n\nIf you do not answer, we send you no marketing.",
    "wave_size": 20, "reminders": 1, "reminder_days": 7, "valid_days": 30, "non_responders": "nothing",
}  # fmt: skip


QUESTIONNAIRE = {
    "name": "Verificarea anuală a datelor (parteneri)", "active": True, "review": True,
    "fields": ["name", "emails", "phones", "job_title", "employer", "address", "consents"],
    "audience": {"organization_status": "partner"}, "every_months": 12,
    "intro_ro": "Țineți datele de contact la zi: verificați ce avem și corectați ce s-a schimbat.",
    "intro_en": "Keep your contact details current: check what we hold and correct what has changed.",
    "subject_ro": "Datele dumneavoastră de contact sunt corecte?", "subject_en": "Are your contact details correct?",
    "body_ro": "Bună ziua, {name}!\n\nVă rugăm să verificați datele pe care le avem despre dumneavoastră:\n{link}",
    "body_en": "Hello {name},\n\nPlease check the data we hold about you:\n{link}",
    "reminders": 2, "reminder_days": 7, "valid_days": 30,
}  # fmt: skip
QUESTIONNAIRE_QUESTIONS = [
    {"kind": "choice", "label_ro": "Cum preferați să vă contactăm?", "label_en": "How do you prefer to be contacted?",
     "options": [{"ro": "E-mail", "en": "Email"}, {"ro": "Telefon", "en": "Phone"}], "required": False},
]  # fmt: skip


def valid_cui(seed: int) -> str:
    digits = str(seed)
    return digits + ro_cui.calc_check_digit(digits)


def ascii_slug(text: str) -> str:
    from registru.people.search import normalize

    return normalize(text).replace(" ", "").replace("-", "")


class Command(BaseCommand):
    help = "Create demo users, organizations and people (skips what already exists)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--people", type=int, default=60, help="How many demo people (default 60).")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if the database has users.")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("demo data is refused when REGISTRU_ENV=production")
        if options["if_empty"] and User.objects.exists():
            self.stdout.write("The database already has users: no demo data added.")
            self._print_logins()
            return
        users = self._users()
        organizations = self._organizations(users)
        created = self._people(users, organizations, options["people"])
        self._consent(users)
        self._questionnaire(users)
        self._access(users)
        self._prove_the_trail()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready: {len(users)} users, {len(organizations)} organizations, {created} new people."
            )
        )
        self._print_logins()

    def _print_logins(self) -> None:
        logins = ", ".join(f"{username} ({role.label})" for username, role, *_ in USERS)
        self.stdout.write(f"Demo logins, password {settings.DEMO_PASSWORD!r}: {logins}")

    def _consent(self, users: dict[str, User]) -> None:
        """Purposes with their notices, a few consents, a running consent campaign whose first
        wave lands in the local mailbox (Outbox), and a draft to try the campaign form on."""
        from registru.campaigns.models import Campaign

        purposes = [self._purpose(row) for row in PURPOSES]
        if Campaign.objects.exists():
            return
        from registru.campaigns import services as campaigns
        from registru.consent import services as consent
        from registru.consent.choices import ConsentMethod

        newsletter, offers, events = purposes
        for person in Person.objects.filter(lawful_basis="consent").order_by("pk")[:6]:
            notice = newsletter.notices.filter(language=person.preferred_language).order_by("-version").first()
            consent.grant_consent(person, newsletter, "email", actor=ACTOR, method=ConsentMethod.WEB_FORM,
                                  notice=notice)  # fmt: skip
        values = CAMPAIGN | {"starts_at": timezone.now()}
        running = campaigns.create_campaign(values, [newsletter, events], actor=users["mara"])
        campaigns.start_campaign(running, actor=users["mara"])
        campaigns.advance()
        draft = CAMPAIGN | {"name": "Oferte 2027 (ciornă)", "starts_at": timezone.now() + timedelta(days=7)}
        campaigns.create_campaign(draft, [offers], actor=users["mara"])

    def _purpose(self, row: tuple[Any, ...]) -> Any:
        from registru.consent import services as consent
        from registru.consent.models import Purpose

        code, name_ro, name_en, channels, ro, en = row
        purpose = Purpose.objects.filter(code=code).first()
        if purpose is None:
            values = {"code": code, "name_ro": name_ro, "name_en": name_en, "channels": channels,
                      "lawful_basis": "consent", "validity_days": 730, "is_marketing": True,
                      "active": True}  # fmt: skip
            purpose = consent.save_purpose(None, values, actor=ACTOR)
            consent.publish_notice(purpose, "ro", ro, actor=ACTOR)
            consent.publish_notice(purpose, "en", en, actor=ACTOR)
        return purpose

    def _questionnaire(self, users: dict[str, User]) -> None:
        """A yearly data check for partners' contact people, its first round sent (Outbox)."""
        from registru.questionnaires import services as questionnaires
        from registru.questionnaires.models import Questionnaire

        if Questionnaire.objects.exists():
            return
        questionnaires.save_questionnaire(None, QUESTIONNAIRE, QUESTIONNAIRE_QUESTIONS, actor=users["bob"])
        questionnaires.run()

    def _access(self, users: dict[str, User]) -> None:
        """Something to decide on: alice asks for a contact of andrei's (bob or andrei decides),
        and bob asks for an export with birth dates (a second person, dora, must approve)."""
        from registru.accounts.models import AccessRequest
        from registru.accounts.services.grants import file_access_request
        from registru.exports.services import request_export
        from registru.people.selectors import PeopleFilter, filter_people

        if AccessRequest.objects.exists():
            return
        contact = Person.objects.filter(affiliations__organization__owner=users["andrei"]).exclude(emails=[]).first()
        if contact is not None:
            file_access_request(
                actor=users["alice"], identified_by="email", identifier=contact.primary_email, access="view", days=7,
                reason="Mă ocup de licitația comună cu Agroind și am nevoie de persoana de contact.",
            )  # fmt: skip
        if not filter_people(users["bob"], PeopleFilter()).exists():
            return
        request_export(
            actor=users["bob"], criteria=PeopleFilter(), fields=["given_name", "family_name", "birth_date", "emails"],
            fmt="xlsx", purpose="Felicitări de ziua de naștere pentru clienții echipei",
        )  # fmt: skip

    def _prove_the_trail(self) -> None:
        """Seal, checkpoint and verify, so that the DPO's trail page has something to show."""
        from registru.audit.services.checkpoints import create_checkpoint
        from registru.audit.services.verification import run_verification

        create_checkpoint()
        run_verification()

    def _users(self) -> dict[str, User]:
        teams = [Team.objects.filter(name=name).first() or accounts.create_team(name, actor=ACTOR) for name in TEAMS]
        users = {}
        for username, role, team, first, last in USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = accounts.create_user(
                    username, actor=ACTOR, role=role, password=settings.DEMO_PASSWORD, validate=False,
                    team=teams[team] if team is not None else None, first_name=first, last_name=last,
                    email=f"{username}@registru.example",
                )  # fmt: skip
            users[username] = user
        return users

    def _organizations(self, users: dict[str, User]) -> list[Organization]:
        result = []
        for name, status, country, city, county, industry, owner, tax in ORGANIZATIONS:
            organization = Organization.objects.filter(name=name).first()
            if organization is None:
                organization = people.create_organization(
                    {"name": name, "status": status, "country": country, "city": city, "county": county,
                     "industry": industry, "owner": users[owner],
                     "cui": valid_cui(tax) if isinstance(tax, int) else tax},
                    actor=ACTOR,
                )  # fmt: skip
            result.append(organization)
        return result

    def _people(self, users: dict[str, User], organizations: list[Organization], count: int) -> int:
        existing = Person.objects.count()
        rng = random.Random(20261129 + existing)  # noqa: S311 (repeatable demo data, not secrets)
        created = 0
        for index in range(existing, count):
            organization = organizations[index % len(organizations)]
            person = people.create_person(self._person_data(rng, index, organization), actor=ACTOR)
            since = date(2018, 1, 1) + timedelta(days=rng.randrange(2500))
            people.create_affiliation(person, organization, {"role": rng.choice(TITLES), "since": since}, actor=ACTOR)
            if index % 3 == 0:
                people.create_note(
                    {
                        "kind": "call",
                        "body": "Discuție despre oferta pentru anul viitor; revenim în două săptămâni.",
                    },
                    actor=ACTOR,
                    person=person,
                )
            created += 1
        return created

    def _person_data(self, rng: random.Random, index: int, organization: Organization) -> dict[str, Any]:
        if organization.country in FOREIGN:
            given, family = rng.choice(FOREIGN[organization.country])
            tld = organization.country.lower()
            digits = rng.randrange(1000000, 9999999)
            phone = f"+49 40 {digits}" if tld == "de" else f"+33 4 72 {str(digits)[:6]}"
            language = "en"
        else:
            given, family, tld = rng.choice(GIVEN), rng.choice(FAMILY), "ro"
            phone = f"07{rng.choice('2345')}{rng.randrange(1000000, 9999999)}"
            language = "ro"
        domain = ascii_slug(organization.name.split()[0]) + f".{tld}"
        return {
            "given_name": given,
            "family_name": family,
            "emails": [f"{ascii_slug(given)}.{ascii_slug(family)}{index}@{domain}"],
            "phones": [phone],
            "job_title": rng.choice(TITLES),
            "preferred_language": language,
            "source": rng.choice(["form", "business_card", "referral", "event"]),
            "lawful_basis": rng.choice(["contract", "legitimate_interest", "consent"]),
            "owner": organization.owner,
            "city": organization.city,
            "country": organization.country,
            # Every other person has a birth date (sensitive: masked for most roles), so that
            # revealing one can be tried; taken from the index, not the random sequence.
            "birth_date": _birth_date(index) if index % 2 == 0 else None,
        }


def _birth_date(index: int) -> date:
    return date(1962 + index * 7 % 36, 1 + index * 5 % 12, 1 + index * 11 % 28)
