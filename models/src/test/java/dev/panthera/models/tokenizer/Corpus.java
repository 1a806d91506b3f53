package dev.panthera.models.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A deterministic corpus of varied lines for tokenizer parity tests: English prose with contractions, code,
 * numbers, CJK, emoji (ZWJ sequences, skin tones, variation selectors), accented and non-Latin scripts, white-space
 * runs (tabs, no-break and ideographic spaces, newlines), empty lines and random mixtures of all of these.
 */
public final class Corpus {
    private Corpus() {}

    private static final String[] WORDS =
            ("the of and to in is was he for it with as his on be at by I had not are but "
                            + "from or have an they which one you were her all she there would their we him been has when who will more "
                            + "no if out so said what up its about into than them can only other new some could time these two may then "
                            + "do first any my now such like our over man me even most made after also did many before must through back "
                            + "years where much your way well down should because each just those people Mr how too little state good very "
                            + "make world still own see men work long get here between both life being under never day same another know "
                            + "tokenizer transformer embedding Panthera JVM tensor gradient quantization attention SentencePiece WordPiece "
                            + "unbelievable antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis HTTPServer iPhone")
                    .split(" ");
    private static final String[] CONTRACTIONS = {
        "don't",
        "it's",
        "we'll",
        "they're",
        "I'm",
        "you've",
        "she'd",
        "can't",
        "won't",
        "O'Neil",
        "rock'n'roll",
        "'tis",
        "y'all",
        "isn't",
        "DON'T",
        "IT'S"
    };
    private static final String[] CODE = {
        "for (int i = 0; i < n; i++) { acc[i] += 2 * x[i]; }",
        "def forward(self, x):\n    return self.proj(torch.relu(x)) ** 2",
        "if (a != b && c >= d || !flag) return -1;",
        "{\"name\": \"panthera\", \"version\": \"0.1.0\", \"tags\": [\"ml\", \"jvm\"]}",
        "SELECT id, name FROM users WHERE age > 42 ORDER BY name DESC;",
        "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 42); }",
        "x = [i**2 for i in range(10) if i % 3 == 0]  # squares",
        "public static <T extends Comparable<? super T>> void sort(List<T> list)",
        "git commit -m \"fix: off-by-one in merge loop\" -- models/",
        "const f = (a, b) => a?.b ?? `${b}`;  // optional chaining",
        "<div class=\"row\"><span>&nbsp;&amp;&lt;</span></div>",
        "    \tindented_with_tabs_and_spaces = True\t\t",
        "std::vector<std::unique_ptr<Node>> nodes; nodes.emplace_back(new Node{});",
        "https://example.com/path?q=tokenizer&lang=en#section-2",
        "user@example.org, admin+test@mail.co.uk; (555) 123-4567",
    };
    private static final String[] NUMBERS = {
        "3.14159",
        "1,000,000",
        "2026-11-23",
        "0xDEADBEEF",
        "-42e10",
        "1e-12",
        "12:30:45",
        "99.9%",
        "$1,234.56",
        "€5",
        "£10",
        "¥1000",
        "1/2",
        "½",
        "²",
        "Ⅻ",
        "٣٤٥",
        "१२३",
        "007",
        "9999999999999999"
    };
    private static final String[] INTL = {
        "café",
        "naïve",
        "Ångström",
        "résumé",
        "Zürich",
        "São Paulo",
        "Đorđe",
        "straße",
        "Σίσυφος",
        "İstanbul",
        "ıi",
        "Москва",
        "Привет, мир!",
        "Ελληνικά",
        "Crème brûlée",
        "façade",
        "Ærøskøbing",
        "ñandú",
        "Łódź",
        "Ōsaka",
        "Việt Nam",
        "עברית",
        "العربية",
        "हिन्दी",
        "ไทย",
        "한국어 텍스트",
        "東京都",
        "日本語のテキスト",
        "中文分词测试",
        "你好，世界！",
        "カタカナ",
        "ひらがな",
        "繁體中文",
        "ＦＵＬＬＷＩＤＴＨ",
        "ﬁ ligature",
        "e\u0301 combining",
        "Å vs A\u030a",
        "ǅ titlecase",
        "ΣΑΣ σας",
        "KELVIN \u212a",
        "dotless ı and İ"
    };
    private static final String[] EMOJI = {
        "😀", "🎉", "👍🏽", "❤️", "👨‍👩‍👧", "🇫🇷", "🙂🙃", "✨", "🚀", "☕", "🤖", "💯", "⚡️", "😂😂😂"
    };
    private static final String[] SPACES = {
        " ", "  ", "   ", "\t", "\t\t", " \t ", "\u00a0", "\u3000", "\n", " \n ", "\r\n", "\u2009", "        "
    };
    private static final int[][] RANGES = {
        {0x20, 0x7e},
        {0xa1, 0x17f},
        {0x391, 0x3c9},
        {0x410, 0x44f},
        {0x4e00, 0x9fa5},
        {0x3041, 0x3096},
        {0xac00, 0xd7a3},
        {0x1f600, 0x1f64f},
        {0x5d0, 0x5ea},
        {0x2000, 0x206f}
    };

    /** {@code n} lines, the same for the same seed. */
    public static List<String> lines(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<String> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) out.add(line(r, i));
        return out;
    }

    private static String pick(SplittableRandom r, String[] a) {
        return a[r.nextInt(a.length)];
    }

    private static String line(SplittableRandom r, int i) {
        StringBuilder b = new StringBuilder();
        switch (i % 10) {
            case 0 -> { // prose
                int words = 1 + r.nextInt(30);
                for (int w = 0; w < words; w++) {
                    if (w > 0) b.append(' ');
                    String word = r.nextInt(8) == 0 ? pick(r, CONTRACTIONS) : pick(r, WORDS);
                    if (w == 0 || r.nextInt(12) == 0) word = Character.toUpperCase(word.charAt(0)) + word.substring(1);
                    if (r.nextInt(40) == 0) word = word.toUpperCase(java.util.Locale.ROOT);
                    b.append(word);
                    if (r.nextInt(7) == 0) b.append(pick(r, new String[] {",", ";", ":", " -", " —", "...", "!", "?"}));
                }
                b.append(pick(r, new String[] {".", "!", "?", "", "\"", ")."}));
            }
            case 1 -> b.append(pick(r, CODE));
            case 2 -> {
                for (int k = 0, m = 1 + r.nextInt(8); k < m; k++)
                    b.append(k > 0 ? " " : "").append(pick(r, NUMBERS));
            }
            case 3 -> {
                for (int k = 0, m = 1 + r.nextInt(6); k < m; k++)
                    b.append(k > 0 ? pick(r, SPACES) : "").append(pick(r, INTL));
            }
            case 4 -> {
                for (int k = 0, m = 1 + r.nextInt(6); k < m; k++)
                    b.append(pick(r, WORDS)).append(r.nextBoolean() ? " " : "").append(pick(r, EMOJI));
            }
            case 5 -> { // white-space runs
                for (int k = 0, m = 1 + r.nextInt(6); k < m; k++)
                    b.append(pick(r, SPACES)).append(r.nextInt(3) == 0 ? "" : pick(r, WORDS));
                if (r.nextBoolean()) b.append(pick(r, SPACES));
            }
            case 6 -> {
                if (r.nextInt(3) != 0) b.append(r.nextBoolean() ? "" : pick(r, SPACES));
                else b.append(pick(r, WORDS));
            }
            case 7 -> { // random code points from well-established blocks
                for (int k = 0, m = 1 + r.nextInt(40); k < m; k++) {
                    int[] rg = RANGES[r.nextInt(RANGES.length)];
                    int cp = rg[0] + r.nextInt(rg[1] - rg[0] + 1);
                    if (Character.isDefined(cp) && Character.getType(cp) != Character.FORMAT) b.appendCodePoint(cp);
                    if (r.nextInt(5) == 0) b.append(' ');
                }
            }
            default -> { // mixtures
                for (int k = 0, m = 2 + r.nextInt(10); k < m; k++) {
                    String[] src = switch (r.nextInt(6)) {
                        case 0 -> WORDS;
                        case 1 -> CONTRACTIONS;
                        case 2 -> NUMBERS;
                        case 3 -> INTL;
                        case 4 -> EMOJI;
                        default -> SPACES;
                    };
                    b.append(pick(r, src));
                    if (r.nextBoolean()) b.append(' ');
                }
            }
        }
        return b.toString();
    }
}
