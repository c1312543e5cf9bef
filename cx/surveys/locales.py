"""Words of the public survey pages and emails in each survey locale (the survey's own texts are written
by its author in that language)."""

from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "hello": "Hello",
        "subject": "How did we do?", "intro": "We would love your feedback. It takes under a minute.",
        "click_score": "Click a number to answer:", "submit": "Send feedback", "skip": "Skip this question",
        "skip_survey": "No thanks", "thanks": "Thank you for your feedback!", "answered": "Your answer is saved.",
        "already": "This survey has already been answered. Thank you!", "invalid": "This survey link is not valid.",
        "optional": "optional", "required": "required", "error": "Please check your answers.",
        "open_link": "Or open the survey:", "your_score": "Your score", "powered": "Survey by",
        "chars_left": "characters at most",
    },
    "de": {
        "hello": "Hallo",
        "subject": "Wie waren wir?", "intro": "Wir freuen uns über Ihr Feedback. Es dauert unter einer Minute.",
        "click_score": "Klicken Sie auf eine Zahl:", "submit": "Feedback senden", "skip": "Frage überspringen",
        "skip_survey": "Nein danke", "thanks": "Vielen Dank für Ihr Feedback!",
        "answered": "Ihre Antwort ist gespeichert.",
        "already": "Diese Umfrage wurde bereits beantwortet. Danke!", "invalid": "Dieser Umfrage-Link ist ungültig.",
        "optional": "optional", "required": "Pflichtfeld", "error": "Bitte prüfen Sie Ihre Antworten.",
        "open_link": "Oder öffnen Sie die Umfrage:", "your_score": "Ihre Bewertung", "powered": "Umfrage von",
        "chars_left": "Zeichen höchstens",
    },
    "fr": {
        "hello": "Bonjour",
        "subject": "Comment s'est passé votre échange ?", "intro": "Votre avis compte. Moins d'une minute.",
        "click_score": "Cliquez sur une note :", "submit": "Envoyer", "skip": "Passer cette question",
        "skip_survey": "Non merci", "thanks": "Merci pour votre avis !", "answered": "Votre réponse est enregistrée.",
        "already": "Vous avez déjà répondu à cette enquête. Merci !", "invalid": "Ce lien d'enquête n'est pas valide.",
        "optional": "facultatif", "required": "obligatoire", "error": "Vérifiez vos réponses.",
        "open_link": "Ou ouvrez l'enquête :", "your_score": "Votre note", "powered": "Enquête de",
        "chars_left": "caractères au plus",
    },
    "es": {
        "hello": "Hola",
        "subject": "¿Qué tal lo hicimos?", "intro": "Nos encantaría conocer su opinión. Menos de un minuto.",
        "click_score": "Haga clic en un número:", "submit": "Enviar opinión", "skip": "Omitir esta pregunta",
        "skip_survey": "No, gracias", "thanks": "¡Gracias por su opinión!", "answered": "Su respuesta se ha guardado.",
        "already": "Esta encuesta ya fue respondida. ¡Gracias!", "invalid": "Este enlace de encuesta no es válido.",
        "optional": "opcional", "required": "obligatorio", "error": "Revise sus respuestas.",
        "open_link": "O abra la encuesta:", "your_score": "Su puntuación", "powered": "Encuesta de",
        "chars_left": "caracteres como máximo",
    },
}


def strings(locale: str) -> dict[str, str]:
    return STRINGS.get(locale, STRINGS["en"])
