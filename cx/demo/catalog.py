"""Built-in word lists for the demo company: people's names per locale, organisation names, and what
each journey stage looks like (touchpoint kinds, channels, properties). Plain data, no Django import.

Email addresses only ever use reserved example domains (RFC 2606: ``example.com``, ``*.example``), so
demo data can never mail a real person.
"""

from __future__ import annotations

from dataclasses import dataclass

COMPANY_NAME = "Northwind Pay"
COMPANY_PITCH = "a payments app with debit cards, a business account and an online shop"


@dataclass(frozen=True)
class Locale:
    """Where a customer lives: language, time zones, phone numbering, currency and common names."""

    tag: str
    language: str
    country_code: str  # E.164 calling code without "+"
    mobile_prefixes: tuple[str, ...]  # national mobile prefixes after the country code
    subscriber_digits: int  # digits after the mobile prefix
    time_zones: tuple[str, ...]
    currency: str
    legal_suffixes: tuple[str, ...]
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    weight: int  # how common customers from here are


LOCALES: tuple[Locale, ...] = (
    Locale(
        "en-GB", "en", "44", ("71", "74", "75", "77", "78", "79"), 8, ("Europe/London",), "GBP", ("Ltd", "plc"),
        ("Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Jack", "Mia", "Noah", "Grace", "Charlie", "Sophie",
         "Thomas", "Emily", "James", "Lily", "William", "Freya", "Alfie", "Evie", "Priya", "Aisha", "Callum", "Niamh"),
        ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Wright",
         "Robinson", "Thompson", "Evans", "Walker", "Hughes", "Green", "Hall", "Clarke", "Khan", "Murphy",
         "O'Brien", "Campbell", "Stewart", "Ahmed"),
        14,
    ),
    Locale(
        "en-US", "en", "1", ("212", "415", "312", "617", "206", "512", "303", "404", "305", "646"), 7,
        ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Phoenix"),
        "USD", ("Inc.", "LLC", "Corp."),
        ("Liam", "Olivia", "Ethan", "Emma", "Mason", "Sophia", "Logan", "Harper", "Lucas", "Evelyn", "Jackson",
         "Abigail", "Aiden", "Madison", "Carter", "Chloe", "Mateo", "Camila", "Jamal", "Keisha", "Daniel",
         "Hannah", "Tyler", "Zoe"),
        ("Miller", "Davis", "Garcia", "Rodriguez", "Martinez", "Anderson", "Thomas", "Moore", "Jackson", "White",
         "Harris", "Martin", "Lee", "Perez", "Thompson", "Clark", "Lewis", "Young", "King", "Scott", "Nguyen",
         "Kim", "Washington", "Rivera"),
        16,
    ),
    Locale(
        "de-DE", "de", "49", ("151", "152", "157", "160", "170", "171", "172", "176", "178"), 8,
        ("Europe/Berlin",), "EUR", ("GmbH", "AG", "KG"),
        ("Lukas", "Anna", "Leon", "Lena", "Finn", "Marie", "Jonas", "Sophie", "Paul", "Laura", "Felix", "Julia",
         "Maximilian", "Hannah", "Tim", "Lea", "Jan", "Katharina", "Moritz", "Johanna", "Niklas", "Clara",
         "Jürgen", "Sabine"),
        ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
         "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann",
         "Braun", "Krüger", "Hofmann", "Hartmann"),
        14,
    ),
    Locale(
        "de-AT", "de", "43", ("650", "660", "664", "676", "680", "699"), 7, ("Europe/Vienna",), "EUR", ("GmbH",),
        ("Tobias", "Magdalena", "David", "Valentina", "Florian", "Theresa", "Sebastian", "Viktoria", "Fabian",
         "Elisabeth", "Matthias", "Verena"),
        ("Gruber", "Huber", "Wagner", "Pichler", "Steiner", "Moser", "Mayer", "Hofer", "Leitner", "Berger",
         "Fuchs", "Eder"),
        3,
    ),
    Locale(
        "fr-FR", "fr", "33", ("6", "7"), 8, ("Europe/Paris",), "EUR", ("SAS", "SARL", "SA"),
        ("Gabriel", "Louise", "Raphaël", "Emma", "Léo", "Jade", "Louis", "Alice", "Arthur", "Chloé", "Jules",
         "Léa", "Hugo", "Manon", "Nathan", "Camille", "Théo", "Inès", "Mathis", "Zoé", "Karim", "Yasmine"),
        ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
         "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
         "Benali", "Girard"),
        10,
    ),
    Locale(
        "es-ES", "es", "34", ("6", "7"), 8, ("Europe/Madrid", "Atlantic/Canary"), "EUR", ("S.L.", "S.A."),
        ("Hugo", "Lucía", "Martín", "Sofía", "Pablo", "Martina", "Álvaro", "María", "Daniel", "Paula", "Adrián",
         "Valeria", "Javier", "Carmen", "Sergio", "Elena", "Diego", "Irene", "Jorge", "Nuria"),
        ("García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez", "Gómez",
         "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Álvarez", "Romero", "Navarro", "Torres",
         "Domínguez"),
        8,
    ),
    Locale(
        "es-MX", "es", "52", ("55", "33", "81", "22"), 8, ("America/Mexico_City", "America/Monterrey"),
        "MXN", ("S.A. de C.V.",),
        ("Santiago", "Ximena", "Sebastián", "Regina", "Mateo", "Valentina", "Emiliano", "Renata", "Diego",
         "Fernanda", "Leonardo", "Camila"),
        ("Hernández", "García", "Martínez", "López", "González", "Pérez", "Rodríguez", "Sánchez", "Ramírez",
         "Cruz", "Flores", "Gómez"),
        4,
    ),
    Locale(
        "it-IT", "it", "39", ("320", "328", "333", "339", "340", "347", "349", "366"), 7, ("Europe/Rome",), "EUR",
        ("S.r.l.", "S.p.A."),
        ("Leonardo", "Sofia", "Francesco", "Giulia", "Alessandro", "Aurora", "Lorenzo", "Alice", "Mattia",
         "Ginevra", "Andrea", "Emma", "Gabriele", "Giorgia", "Tommaso", "Beatrice", "Riccardo", "Chiara"),
        ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco",
         "Bruno", "Gallo", "Conti", "De Luca", "Costa", "Giordano", "Mancini", "Rizzo"),
        6,
    ),
    Locale(
        "nl-NL", "nl", "31", ("6",), 8, ("Europe/Amsterdam",), "EUR", ("B.V.", "N.V."),
        ("Daan", "Emma", "Sem", "Julia", "Lucas", "Tess", "Levi", "Sophie", "Finn", "Zoë", "Milan", "Anna",
         "Bram", "Fleur", "Thijs", "Noor"),
        ("de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser", "Smit",
         "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters"),
        5,
    ),
    Locale(
        "pl-PL", "pl", "48", ("50", "51", "53", "60", "66", "69", "72", "78", "79", "88"), 7, ("Europe/Warsaw",),
        "PLN", ("Sp. z o.o.", "S.A."),
        ("Antoni", "Zuzanna", "Jan", "Julia", "Jakub", "Zofia", "Aleksander", "Hanna", "Franciszek", "Maja",
         "Szymon", "Lena", "Łukasz", "Agnieszka", "Michał", "Małgorzata"),
        ("Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski", "Zieliński",
         "Szymański", "Woźniak", "Dąbrowski", "Kozłowski", "Jankowski", "Mazur", "Kwiatkowski", "Krawczyk"),
        5,
    ),
    Locale(
        "pt-BR", "pt-BR", "55", ("119", "219", "319", "419", "519", "619", "719", "819"), 8,
        ("America/Sao_Paulo", "America/Recife", "America/Manaus"), "BRL", ("Ltda.", "S.A."),
        ("Miguel", "Helena", "Arthur", "Alice", "Gael", "Laura", "Heitor", "Maria Luísa", "Théo", "Valentina",
         "Davi", "Heloísa", "Bernardo", "Júlia", "Gabriel", "Beatriz"),
        ("Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima", "Gomes",
         "Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Araújo"),
        5,
    ),
    Locale(
        "sv-SE", "sv", "46", ("70", "72", "73", "76", "79"), 7, ("Europe/Stockholm",), "SEK", ("AB",),
        ("William", "Alice", "Liam", "Maja", "Noah", "Elsa", "Hugo", "Astrid", "Oscar", "Wilma", "Elias", "Freja",
         "Axel", "Saga"),
        ("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson",
         "Svensson", "Gustafsson", "Pettersson", "Jonsson", "Lindberg", "Lindqvist"),
        3,
    ),
    Locale(
        "en-IN", "en", "91", ("98", "97", "96", "91", "88", "81", "70"), 8, ("Asia/Kolkata",), "INR",
        ("Pvt. Ltd.",),
        ("Aarav", "Ananya", "Vihaan", "Diya", "Arjun", "Saanvi", "Reyansh", "Aadhya", "Ishaan", "Kavya",
         "Rohan", "Meera", "Aditya", "Pooja", "Karthik", "Sneha"),
        ("Sharma", "Verma", "Gupta", "Iyer", "Reddy", "Nair", "Singh", "Kumar", "Mehta", "Joshi", "Rao",
         "Chatterjee", "Desai", "Menon", "Pillai", "Banerjee"),
        4,
    ),
    Locale(
        "ja-JP", "ja", "81", ("90", "80", "70"), 8, ("Asia/Tokyo",), "JPY", ("K.K.",),
        ("Haruto", "Yui", "Sota", "Hina", "Yuto", "Aoi", "Ren", "Sakura", "Riku", "Yuna", "Kenji", "Akiko"),
        ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura", "Kobayashi",
         "Kato", "Yoshida", "Yamada"),
        2,
    ),
    Locale(
        "en-AU", "en", "61", ("40", "41", "42", "43", "45", "47"), 7,
        ("Australia/Sydney", "Australia/Melbourne", "Australia/Brisbane", "Australia/Perth"), "AUD", ("Pty Ltd",),
        ("Jack", "Charlotte", "Oliver", "Olivia", "Lachlan", "Matilda", "Cooper", "Ruby", "Archie", "Chloe",
         "Riley", "Isabella"),
        ("Smith", "Jones", "Williams", "Brown", "Wilson", "Taylor", "Nguyen", "Johnson", "Martin", "White",
         "Anderson", "Kelly"),
        3,
    ),
)

PERSONAL_EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example", "inbox.example")

ORGANIZATION_STEMS = (
    "Bluefin", "Harbor", "Alder", "Copperleaf", "Granite", "Juniper", "Kestrel", "Lumen", "Meridian",
    "Nimbus", "Oakridge", "Pinecrest", "Quarry", "Redwood", "Silverline", "Tidewater", "Vantage", "Willow",
    "Zephyr", "Brightwater", "Cobalt", "Driftwood", "Evergreen", "Foxglove", "Greenfield", "Highland",
    "Ironbridge", "Larkspur", "Marlow", "Orchard", "Peregrine", "Riverside", "Saltmarsh", "Thornbury",
    "Upland", "Wildflower", "Yarrow", "Ashford", "Beacon",
)
ORGANIZATION_TRADES = (
    "Logistics", "Analytics", "Foods", "Health", "Studio", "Robotics", "Energy", "Travel", "Retail", "Labs",
    "Consulting", "Outfitters", "Bakery", "Architects", "Media", "Motors", "Pharma", "Textiles", "Software",
    "Insurance", "Coffee Roasters", "Dental", "Print", "Fitness", "Events",
)
ORGANIZATION_NOTES = (
    "Key account; quarterly business review with the account manager.",
    "Pays invoices by SEPA direct debit.",
    "Asked for a single monthly statement for all cards.",
    "Pilot customer for the expense-report export.",
    "Prefers contact by email; no calls before 10:00 local time.",
    "",
    "",
    "",
)

CUSTOMER_NOTES = (
    "Prefers WhatsApp over phone calls.",
    "Travels a lot; card is often used abroad.",
    "Asked not to receive marketing email.",
    "VIP: escalate to the team lead.",
    "Uses the shop for business purchases too.",
)

# The demo team. Usernames are stable so running the demo twice finds them again.
DEMO_TEAMS: tuple[tuple[str, str], ...] = (
    ("Cards & Payments", "Card delivery, declined payments, transfers, top-ups and exchange rates."),
    ("Orders & Delivery", "Shop orders, shipping, returns, refunds and invoices."),
    ("Accounts & Onboarding", "Sign-up, identity checks, account changes and closures."),
    ("CX Insights", "Journey analytics, surveys and reporting (read-only)."),
)

# (username, first name, last name, role, team, is team lead)
DEMO_AGENTS: tuple[tuple[str, str, str, str, str, bool], ...] = (
    ("lena.fischer", "Lena", "Fischer", "team_lead", "Cards & Payments", True),
    ("tomas.novak", "Tomáš", "Novák", "agent", "Cards & Payments", False),
    ("amara.okafor", "Amara", "Okafor", "agent", "Cards & Payments", False),
    ("diego.ramos", "Diego", "Ramos", "agent", "Cards & Payments", False),
    ("sam.whitaker", "Sam", "Whitaker", "team_lead", "Orders & Delivery", True),
    ("yuki.tanaka", "Yuki", "Tanaka", "agent", "Orders & Delivery", False),
    ("chloe.martin", "Chloé", "Martin", "agent", "Orders & Delivery", False),
    ("ravi.iyer", "Ravi", "Iyer", "agent", "Orders & Delivery", False),
    ("ines.duarte", "Inês", "Duarte", "team_lead", "Accounts & Onboarding", True),
    ("jonas.berg", "Jonas", "Berg", "agent", "Accounts & Onboarding", False),
    ("fatima.zahra", "Fatima", "Zahra", "agent", "Accounts & Onboarding", False),
    ("noor.haddad", "Noor", "Haddad", "analyst", "CX Insights", False),
)
DEMO_AGENT_EMAIL_DOMAIN = "northwind-pay.example"

STAGES = ("awareness", "consideration", "purchase", "onboarding", "usage", "support", "loyalty", "advocacy")
SUPPORT_CHANNELS = ("email", "chat", "phone", "whatsapp", "self-service", "in-app")
SUPPORT_CHANNEL_WEIGHTS = (30, 25, 15, 12, 10, 8)

PLANS = ("Basic", "Plus", "Business", "Business Pro")
PAGES = ("/", "/pricing", "/cards", "/business", "/shop", "/security", "/blog/travel-money", "/compare")
REFERRERS = ("google", "bing", "linkedin", "instagram", "newsletter", "friend", "podcast", "direct")
CAMPAIGNS = ("spring-cashback", "travel-card-launch", "business-account-webinar", "black-friday", "refer-a-friend")
FEATURES = ("virtual card", "spending insights", "savings pots", "bulk transfers", "receipt capture",
            "multi-currency wallet", "expense export", "recurring payments", "card freeze")
SHOP_ITEMS = ("metal card", "card reader", "travel adapter kit", "phone wallet case", "premium card sleeve")
REVIEW_SITES = ("Trustpilot", "App Store", "Google Play", "G2")
