// Speech for every screen: the server's espeak-ng audio (GET /speech?lang=&text=, played in an
// <audio> element, so it comes out of the default output: the speakers, or a headset plugged
// into the kiosk), the browser's own voice only where the server cannot help and the browser
// has a voice for the language (Debian's Chromium has none). Calls wait for each other.
//
// Only screen texts and ticket labels are ever spoken: never a name, an e-mail or a code.
//
//   import { speak, stopSpeaking } from "./speech.js";
//   await speak("Nummer A12, balie 2", "nl");   // resolves when it has been said (or failed)

// The language tag a browser voice is looked for with.
const TAGS = { nl: "nl-NL", en: "en-GB", tr: "tr-TR", ar: "ar", pl: "pl-PL", uk: "uk-UA" };
// A phrase that has not finished after this long is cut off (a stuck engine never says "end").
const DEFAULT_MAX_MS = 15000;

let chain = Promise.resolve();
let generation = 0; // stopSpeaking() moves it on: queued calls of an older one do nothing
let player = null;
let finishCurrent = null;

/** The address of the server's audio for a phrase. */
export function speechUrl(text, lang) {
  const query = new URLSearchParams({ lang, text: String(text).replace(/\s+/g, " ").trim() });
  return `/speech?${query}`;
}

/** The browser's own voice for a language, or null (Debian's Chromium has none). */
export function browserVoice(lang) {
  const synth = window.speechSynthesis;
  if (!synth || typeof window.SpeechSynthesisUtterance === "undefined") return null;
  const voices = synth.getVoices() || [];
  const tag = (TAGS[lang] || lang).toLowerCase();
  const base = tag.split("-")[0];
  return (
    voices.find((v) => (v.lang || "").toLowerCase() === tag) ||
    voices.find((v) => (v.lang || "").toLowerCase().replace("_", "-").startsWith(base)) ||
    null
  );
}

/** Whether a page can expect to be heard: the server speaks every offered language. */
export function speechAvailable() {
  return typeof window.Audio === "function" || Boolean(window.speechSynthesis);
}

function audio() {
  if (!player) {
    player = new window.Audio();
    player.preload = "auto";
  }
  return player;
}

/** Play the server's audio; resolves "played", "blocked" (no user gesture yet) or "failed". */
function playServer(text, lang, maxMs) {
  return new Promise((resolve) => {
    const element = audio();
    let timer = 0;
    const finish = (outcome) => {
      window.clearTimeout(timer);
      element.onended = null;
      element.onerror = null;
      finishCurrent = null;
      resolve(outcome);
    };
    finishCurrent = () => {
      element.pause();
      finish("stopped");
    };
    timer = window.setTimeout(() => {
      element.pause();
      finish("cut");
    }, maxMs);
    element.onended = () => finish("played");
    // A 503 (espeak-ng missing) or a lost server: the body is no audio.
    element.onerror = () => finish("failed");
    element.src = speechUrl(text, lang);
    let started;
    try {
      started = element.play();
    } catch {
      finish("failed");
      return;
    }
    if (started && typeof started.catch === "function") {
      started.catch((error) => {
        if (error && error.name === "NotAllowedError") finish("blocked");
        else if (error && error.name === "AbortError") return; // stopSpeaking() paused it
        else finish("failed");
      });
    }
  });
}

/** Speak with the browser's voice; resolves "played", "blocked" or "failed". */
function playBrowser(text, lang, voice, maxMs) {
  return new Promise((resolve) => {
    const synth = window.speechSynthesis;
    const utterance = new window.SpeechSynthesisUtterance(text);
    utterance.lang = voice.lang || TAGS[lang] || lang;
    try {
      utterance.voice = voice;
    } catch {
      // Not a SpeechSynthesisVoice (a stand-in): the language alone picks one.
    }
    utterance.rate = 0.9;
    let timer = 0;
    const finish = (outcome) => {
      window.clearTimeout(timer);
      finishCurrent = null;
      resolve(outcome);
    };
    finishCurrent = () => {
      synth.cancel();
      finish("stopped");
    };
    timer = window.setTimeout(() => finish("cut"), maxMs);
    utterance.onend = () => finish("played");
    utterance.onerror = (event) =>
      finish(event && event.error === "not-allowed" ? "blocked" : "failed");
    try {
      synth.speak(utterance);
    } catch {
      finish("failed");
    }
  });
}

async function sayNow(text, lang, maxMs) {
  const outcome = await playServer(text, lang, maxMs);
  if (outcome !== "failed") return outcome;
  const voice = browserVoice(lang);
  return voice ? playBrowser(text, lang, voice, maxMs) : "failed";
}

/**
 * Say `text` in `lang` (a page language: nl, en, tr, ar, pl, uk) after what is being said now.
 * Resolves when it has been said, or could not be: with "played", "cut" (longer than
 * `maxMs`), "blocked" (the browser wants a tap first), "failed" or "stopped". Never rejects.
 * @param {string} text
 * @param {string} lang
 * @param {{maxMs?: number}} [options]
 * @returns {Promise<string>}
 */
export function speak(text, lang, { maxMs = DEFAULT_MAX_MS } = {}) {
  const mine = generation;
  const next = chain.then(() => {
    if (mine !== generation || !String(text || "").trim()) return "stopped";
    return sayNow(String(text), lang, maxMs);
  });
  chain = next.catch(() => "failed");
  return chain;
}

/** Stop what is being said and drop everything queued. */
export function stopSpeaking() {
  generation += 1;
  if (finishCurrent) finishCurrent();
  if (window.speechSynthesis) window.speechSynthesis.cancel();
}
