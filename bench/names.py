"""Word lists for generated people and organizations (Romanian first, some international)."""

from __future__ import annotations


def _words(text: str) -> list[str]:
    return text.split()


GIVEN_FEMALE = _words("""
Maria Elena Ioana Ana Andreea Mihaela Cristina Gabriela Alexandra Daniela Mariana Adriana
Georgiana Alina Nicoleta Ionela Roxana Raluca Simona Florentina Diana Iuliana Ramona Monica
Denisa Bianca Larisa Irina Oana Carmen Camelia Corina Mădălina Cătălina Anca Laura Claudia
Lavinia Valentina Violeta Rodica Doina Viorica Gheorghița Lăcrămioara Ștefania Teodora
Sânziana Ilinca Smaranda Natalia Aurelia Luminița Veronica Sorina Loredana Emilia Liliana
Silvia Angela Otilia Tatiana Delia Paula Mirela Antonia Sabina Medeea Ecaterina Floarea
Ileana Alexia Ariana Bogdana Crina Dana Flavia Geanina Iolanda Livia Marinela Narcisa
Petruța Rebeca Sonia Tamara Tudora Vasilica Zamfira
""")

GIVEN_MALE = _words("""
Ion Gheorghe Constantin Alexandru Andrei Mihai Ionuț Vasile Nicolae Ștefan Daniel Marian
Florin Cristian Adrian Gabriel Dumitru Bogdan Marius Răzvan Cătălin Alin Sorin Ovidiu Vlad
Radu Tudor Lucian Sebastian Cosmin Claudiu Liviu Petru Paul Iulian Emil Horia Traian
Octavian Aurel Valentin Dragoș Sergiu Costel Viorel Silviu Eugen Mircea Laurențiu Remus
Matei Luca David Darius Victor Teodor Rareș Ilie Virgil Codrin Ciprian Dorin Gelu Nelu
Toma Cezar Doru Fănel Grigore Iosif Lucian Mugurel Nicușor Petrică Sandu Tiberiu Vasilică
""")

GIVEN_FOREIGN = _words("""
Anna Lukas Jürgen Jörg Hélène François Camille Julien José María Łukasz Zoë Søren Björn
Ágnes László Zoltán Attila Erzsébet Katalin Gábor Péter István Müge Ahmet John Emily Oliver
Sophie Giulia Marco Francesca Niccolò Dmitri Olga Yusuf Chloé Inês João Małgorzata Dorottya
Csaba Levente Ferenc Klaus Ingrid Sven Åsa Mikael Noémie Thérèse Øystein
""")

# Common family names first, roughly in the order of how often they occur in Romania.
FAMILY_COMMON = _words("""
Popa Popescu Pop Radu Ionescu Dumitru Stan Stoica Gheorghe Matei Ciobanu Rusu Munteanu
Constantin Mihai Florea Moldovan Dinu Șerban Marin Tudor Lungu Ene Barbu Ilie Nistor Dobre
Ion Sandu Toma Cristea Dragomir Ursu Moraru Anghel Ioniță Vasile Sima Neagu Dima Stanciu
Lazăr Oprea Neacșu Avram Nedelcu Bălan Coman Roman Mocanu Voicu Crăciun Mitrea Mureșan
Cojocaru Preda Iordache Niculescu Manea Ștefan Bucur Enache Niță Georgescu Pavel Grigore
Stănescu Diaconu Dumitrescu Mihăilă Constantinescu Rădulescu Nicolae Căpraru Zamfir Tănase
Gavrilă Costache Paraschiv Chiriac Mihalache Petrescu Pană Vlad Marinescu Lupu Cazacu
Stoian Badea Iacob Suciu Andrei Petre Ardeleanu Bratu Drăgan Tudose Filip Olteanu Sârbu
Măgureanu Buzatu Tomescu Gavrilescu Popovici Stoenescu Ghiță Cojocariu Țurcanu Băluță
Ungureanu Sava Costea Cozma Nechita Surdu Micu Pașca Ardelean Crișan Fodor Kovács Nagy
Szabó Tóth Kiss Molnár Farkas Balogh Lakatos Müller Schmidt Schneider Fischer Weber Wagner
Becker Hoffmann Schröder Weiß Lefèvre Moreau Girard Dubois García Fernández López Rossi
Russo Bianchi Romano Kowalski Nowak Wiśniewski Smith Jones Brown Ivanov Petrov Yılmaz
Öztürk Dragnea Hagi Iliescu Ciucă Năstase Comăneci Enescu Brâncuși Eminescu Caragiale
Sadoveanu Rebreanu Arghezi Blaga Bacovia Coșbuc Goga Slavici Creangă Alecsandri Negruzzi
""")

# Syllables and endings for the long tail of rarer family names ("Vâlcoveanu", "Drăgoiu").
ROOT_ONSETS = _words("""
b bl br c cr d dr f fl g gr h j l m n p pl pr r s st str ș t tr ț v vl z
""")
ROOT_VOWELS = _words("a e i o u ă â î ea ia io oa")
ROOT_CODAS = ["", "", "", "n", "r", "l", "s", "ș", "c", "t", "m", "nd", "rc", "lt", "st", "rg"]
FAMILY_ENDINGS = _words("""
escu eanu anu aru ache oiu ici aș uț ea an ariu iță ilă ică oaia ău oi ete iuc uc ac
ovici aciu easca ușcă ilescu ăscu oveanu ăreanu ișteanu
""")

ORGANIZATION_WORDS = _words("""
Agro Auto Bio Construct Dental Eco Electro Energo Farma Ferma Fin Gaz Hidro Impex Info Lact
Logistic Med Metal Mobila Moda Nord Optic Petro Prod Print Rom Serv Soft Sud Tehno Termo
Trans Tur Vin Lemn Carne Panif Textil Chim Aero Naval Mineral Ceramic Sticla Hartie
""")
ORGANIZATION_PLACES = _words("""
Bărăgan Mureșul Someș Carpați Dunărea Olt Siret Prut Ardeal Banat Moldova Oltenia Muntenia
Dobrogea Bucovina Maramureș Crișana Argeș Bistrița Ceahlău Făgăraș Retezat Bucegi Vrancea
Apuseni Delta Cerna Jiu Timiș Târnava Ialomița Buzău Trotuș Sebeș Vedea Teleorman Neamț
Suceava Iași Cluj Brașov Sibiu Constanța Galați Craiova Ploiești Oradea Arad Pitești
""")
ORGANIZATION_FORMS = ["SRL", "SRL", "SRL", "SA", "SRL-D", "PFA", "GmbH", "SAS", "Ltd"]
INDUSTRIES = _words("""
Agricultură Alimentație Construcții IT Sănătate Textile Transport Energie Comerț Turism
Editură Consultanță Producție Servicii Educație
""")

CITIES = [
    ("București", "București"), ("Cluj-Napoca", "Cluj"), ("Timișoara", "Timiș"), ("Iași", "Iași"),
    ("Constanța", "Constanța"), ("Craiova", "Dolj"), ("Brașov", "Brașov"), ("Galați", "Galați"),
    ("Ploiești", "Prahova"), ("Oradea", "Bihor"), ("Brăila", "Brăila"), ("Arad", "Arad"),
    ("Pitești", "Argeș"), ("Sibiu", "Sibiu"), ("Bacău", "Bacău"), ("Târgu Mureș", "Mureș"),
    ("Baia Mare", "Maramureș"), ("Buzău", "Buzău"), ("Botoșani", "Botoșani"), ("Satu Mare", "Satu Mare"),
    ("Suceava", "Suceava"), ("Piatra Neamț", "Neamț"), ("Drobeta-Turnu Severin", "Mehedinți"),
    ("Focșani", "Vrancea"), ("Târgu Jiu", "Gorj"), ("Slobozia", "Ialomița"), ("Dej", "Cluj"),
]  # fmt: skip
JOB_TITLES = [
    "Director general", "Director financiar", "Manager achiziții", "Contabil șef",
    "Head of Procurement", "Office manager", "Inginer", "Director vânzări", "Economist",
    "Consilier juridic", "Specialist resurse umane", "Asistent manager", "Administrator", "",
]  # fmt: skip
PUBLIC_MAIL_DOMAINS = [
    # domain, share of personal addresses
    ("gmail.com", 55), ("yahoo.com", 20), ("yahoo.ro", 10), ("hotmail.com", 5),
    ("outlook.com", 4), ("icloud.com", 2), ("protonmail.com", 1), ("rdslink.ro", 2), ("clicknet.ro", 1),
]  # fmt: skip
FOREIGN_PHONE_PREFIXES = ["+49", "+33", "+36", "+39", "+44", "+373"]
