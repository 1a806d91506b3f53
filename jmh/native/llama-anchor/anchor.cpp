// A small driver over llama.cpp's public llama.h API, built by build.sh. Four modes:
//
//   llama-anchor bench MODEL.gguf [-t THREADS] [-p N_PROMPT[,N_PROMPT...]] [-n N_GEN] [-r REPS] [-d DEPTH]
//                     [-ctk f32|f16]
//     Throughput measured the way llama.cpp's llama-bench measures it: a test is either prompt processing (pp: the
//     KV cache cleared, then one llama_decode of N_PROMPT tokens, BOS then random ids; one test per size listed,
//     all in one context large enough for the largest) or text generation (tg: the
//     cache cleared, then N_GEN single-token llama_decode calls, the first fed BOS and the rest random ids, so that
//     no sampling is timed). Each test runs once unmeasured, then REPS times; a repetition's rate is its tokens over
//     its wall time, and the line gives the mean and sample standard deviation of those rates:
//       test=pp128 threads=1 reps=5 mean_tok_s=1234.56 sd_tok_s=7.89
//     With -d DEPTH (llama-bench's --n-depth), every run first fills the cleared cache with DEPTH tokens (BOS then
//     random ids, one untimed llama_decode) and the timed test follows at position DEPTH; its name gets "@dDEPTH"
//     (test=tg32@d512).
//     Context defaults of this llama.cpp version otherwise (F16 KV cache, flash attention left to "auto"); -ctk
//     (llama-bench's --cache-type-k, here for keys and values both) sets the cache type.
//
//   llama-anchor batch MODEL.gguf -b BATCH -p N_PROMPT -n N_NEW [-t THREADS] [-r REPS] [-ctk f32|f16]
//     Batched decode, the counterpart of our BatchDecodeBench: BATCH sequences (a sequence id each, llama.cpp's
//     default per-sequence KV cache) whose prompts have N_PROMPT - r*N_PROMPT/(2*BATCH) tokens for r = 0..BATCH-1
//     (BOS then random ids), all prefilled by one untimed llama_decode; then N_NEW - 1 timed steps, each one
//     llama_decode of BATCH tokens (one random id per sequence at its next position, logits requested for every
//     row, no sampling). A repetition's rate is BATCH*(N_NEW - 1) tokens over the steps' wall time; one unmeasured
//     repetition first, then REPS, each on a cleared cache:
//       test=batch4 prompt=32 new=65 threads=1 reps=5 mean_tok_s=345.67 sd_tok_s=8.90
//
//   llama-anchor logits MODEL.gguf --ids "1 2 3" [--gen N] [--out FILE] [-t THREADS]
//     One llama_decode of the ids with logits requested at every position, then N greedy steps (argmax, lowest
//     index on ties), each feeding the chosen id and taking that position's logits. FILE receives every position's
//     logits as little-endian float32, (ids + N) rows of vocab floats; stdout gets the N generated ids on one line.
//     The KV cache is F32 and flash attention off, so that with an F32 GGUF every product is accumulated in F32.
//
//   llama-anchor quantize MODEL.gguf --out OUT.gguf --type q4_k_m|q5_k_m|q6_k|q4_k|q5_k [-t THREADS]
//     llama.cpp's own quantizer (llama_model_quantize, what its llama-quantize tool runs) with its per-tensor mix
//     for the file type: for q4_k_m, Q4_K matrices with Q6_K for the output head and for attn_v and ffn_down in the
//     layers llama.cpp gives more bits. The mixed files users download, for our loader and decode to run as they are.
//     q4_k and q5_k: every matrix that one type (llama-quantize --pure), to time against our convert --type Q4_K.
#include "llama.h"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

[[noreturn]] void fail(const std::string & msg) {
    std::fprintf(stderr, "llama-anchor: %s\n", msg.c_str());
    std::exit(2);
}

void quiet_log(ggml_log_level level, const char * text, void *) {
    if (level == GGML_LOG_LEVEL_ERROR) std::fputs(text, stderr);
}

int int_arg(const std::string & name, const char * value) {
    char * end = nullptr;
    long v = std::strtol(value, &end, 10);
    if (*value == '\0' || *end != '\0' || v < 0 || v > (1L << 30)) fail("bad value for " + name + ": " + value);
    return (int) v;
}

struct Session {
    llama_model * model = nullptr;
    llama_context * ctx = nullptr;
    int vocab = 0;
    llama_token bos = 0;

    Session(const std::string & path, int threads, int n_ctx, int n_batch, bool exact,
            ggml_type cache = GGML_TYPE_F16, int n_seq = 1) {
        llama_model_params mp = llama_model_default_params();
        mp.n_gpu_layers = 0;
        model = llama_model_load_from_file(path.c_str(), mp);
        if (!model) fail("cannot load model " + path);
        llama_context_params cp = llama_context_default_params();
        cp.n_ctx = (uint32_t) n_ctx;
        cp.n_batch = (uint32_t) n_batch;
        cp.n_ubatch = (uint32_t) std::min(n_batch, 512);
        cp.n_seq_max = (uint32_t) n_seq;
        cp.n_threads = threads;
        cp.n_threads_batch = threads;
        cp.no_perf = true;
        cp.type_k = cache;
        cp.type_v = cache;
        if (exact) {
            cp.type_k = GGML_TYPE_F32;
            cp.type_v = GGML_TYPE_F32;
            cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
        }
        ctx = llama_init_from_model(model, cp);
        if (!ctx) fail("cannot create a context of " + std::to_string(n_ctx) + " tokens for " + path);
        const llama_vocab * v = llama_model_get_vocab(model);
        vocab = llama_vocab_n_tokens(v);
        bos = llama_vocab_bos(v);
    }

    ~Session() {
        llama_free(ctx);
        llama_model_free(model);
    }

    void decode(std::vector<llama_token> & tokens, int first_pos, bool all_logits) {
        llama_batch b = llama_batch_init((int32_t) tokens.size(), 0, 1);
        for (size_t i = 0; i < tokens.size(); i++) {
            b.token[i] = tokens[i];
            b.pos[i] = first_pos + (llama_pos) i;
            b.n_seq_id[i] = 1;
            b.seq_id[i][0] = 0;
            b.logits[i] = all_logits || i + 1 == tokens.size();
        }
        b.n_tokens = (int32_t) tokens.size();
        int32_t rc = llama_decode(ctx, b);
        llama_batch_free(b);
        if (rc != 0) fail("llama_decode returned " + std::to_string(rc));
    }
};

// The mean and sample standard deviation of a test's rates, printed after the test's name.
void report(const std::string & name, int threads, const std::vector<double> & rates) {
    double mean = 0, var = 0;
    for (double x : rates) mean += x;
    mean /= rates.size();
    for (double x : rates) var += (x - mean) * (x - mean);
    double sd = rates.size() > 1 ? std::sqrt(var / (rates.size() - 1)) : 0.0;
    std::printf("test=%s threads=%d reps=%zu mean_tok_s=%.2f sd_tok_s=%.2f\n", name.c_str(), threads, rates.size(),
                mean, sd);
    std::fflush(stdout);
}

int bench(const std::string & path, int threads, const std::vector<int> & prompts, int n_gen, int reps, int depth,
          ggml_type cache) {
    int max_prompt = 0;
    for (int p : prompts) max_prompt = std::max(max_prompt, p);
    if (max_prompt == 0 && n_gen == 0) fail("bench: both -p and -n are 0");
    int n_ctx = std::max(std::max(max_prompt, n_gen) + depth, 16);
    Session s(path, threads, n_ctx, std::max(std::max(max_prompt, depth), 1), false, cache);
    int n_prompt = 0;
    std::mt19937 rng(1234);
    auto random_id = [&] { return (llama_token) (rng() % (uint32_t) s.vocab); };
    auto run = [&](bool prompt) {
        llama_memory_clear(llama_get_memory(s.ctx), true);
        if (depth > 0) {
            std::vector<llama_token> ids(depth);
            for (int i = 0; i < depth; i++) ids[i] = i == 0 ? s.bos : random_id();
            s.decode(ids, 0, false);
            llama_synchronize(s.ctx);
        }
        auto t0 = std::chrono::steady_clock::now();
        if (prompt) {
            std::vector<llama_token> ids(n_prompt);
            for (int i = 0; i < n_prompt; i++) ids[i] = i == 0 && depth == 0 ? s.bos : random_id();
            s.decode(ids, depth, false);
        } else {
            std::vector<llama_token> one{depth == 0 ? s.bos : random_id()};
            for (int i = 0; i < n_gen; i++) {
                s.decode(one, depth + i, false);
                one[0] = random_id();
            }
        }
        llama_synchronize(s.ctx);
        double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        return (prompt ? n_prompt : n_gen) / sec;
    };
    std::vector<int> tests(prompts);
    tests.push_back(-n_gen); // tg, marked by its sign
    for (int test : tests) {
        bool prompt = test > 0;
        if (test == 0) continue;
        if (prompt) n_prompt = test;
        run(prompt); // unmeasured warm-up
        std::vector<double> rates;
        for (int r = 0; r < reps; r++) rates.push_back(run(prompt));
        std::string at = depth > 0 ? "@d" + std::to_string(depth) : "";
        report((prompt ? "pp" : "tg") + std::to_string(prompt ? n_prompt : n_gen) + at, threads, rates);
    }
    return 0;
}

int batched(const std::string & path, int threads, int n_batch_seqs, int n_prompt, int n_new, int reps,
            ggml_type cache) {
    if (n_batch_seqs < 1 || n_prompt < 1 || n_new < 2) fail("batch: need -b >= 1, -p >= 1 and -n >= 2");
    std::vector<int> lengths;
    int total = 0;
    for (int r = 0; r < n_batch_seqs; r++) {
        lengths.push_back(std::max(1, n_prompt - r * n_prompt / (2 * n_batch_seqs)));
        total += lengths.back();
    }
    // each sequence's share of the cache holds its prompt and its new tokens (the cache is split per sequence)
    int per_seq = ((n_prompt + n_new + 255) / 256) * 256;
    Session s(path, threads, per_seq * n_batch_seqs, std::max(total, n_batch_seqs), false, cache, n_batch_seqs);
    std::mt19937 rng(1234);
    auto random_id = [&] { return (llama_token) (rng() % (uint32_t) s.vocab); };
    auto run = [&] {
        llama_memory_clear(llama_get_memory(s.ctx), true);
        llama_batch b = llama_batch_init(total, 0, 1);
        b.n_tokens = 0;
        for (int r = 0; r < n_batch_seqs; r++)
            for (int i = 0; i < lengths[r]; i++) {
                int t = b.n_tokens++;
                b.token[t] = i == 0 ? s.bos : random_id();
                b.pos[t] = i;
                b.n_seq_id[t] = 1;
                b.seq_id[t][0] = r;
                b.logits[t] = i + 1 == lengths[r];
            }
        int32_t rc = llama_decode(s.ctx, b);
        if (rc != 0) fail("llama_decode of the prompts returned " + std::to_string(rc));
        llama_synchronize(s.ctx);
        auto t0 = std::chrono::steady_clock::now();
        for (int step = 1; step < n_new; step++) {
            b.n_tokens = n_batch_seqs;
            for (int r = 0; r < n_batch_seqs; r++) {
                b.token[r] = random_id();
                b.pos[r] = lengths[r] + step - 1;
                b.n_seq_id[r] = 1;
                b.seq_id[r][0] = r;
                b.logits[r] = true;
            }
            rc = llama_decode(s.ctx, b);
            if (rc != 0) fail("llama_decode of a batch step returned " + std::to_string(rc));
        }
        llama_synchronize(s.ctx);
        double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        llama_batch_free(b);
        return (double) n_batch_seqs * (n_new - 1) / sec;
    };
    run(); // unmeasured warm-up
    std::vector<double> rates;
    for (int r = 0; r < reps; r++) rates.push_back(run());
    report("batch" + std::to_string(n_batch_seqs) + " prompt=" + std::to_string(n_prompt) + " new=" +
               std::to_string(n_new),
           threads, rates);
    return 0;
}

int logits(const std::string & path, const std::string & ids_text, int n_gen, const std::string & out, int threads) {
    std::vector<llama_token> ids;
    std::istringstream in(ids_text);
    std::string word;
    while (in >> word) ids.push_back((llama_token) int_arg("--ids", word.c_str()));
    if (ids.empty()) fail("logits: --ids is empty");
    int rows = (int) ids.size() + n_gen;
    Session s(path, threads, rows, (int) ids.size(), true);
    for (llama_token t : ids)
        if (t < 0 || t >= s.vocab) fail("logits: id " + std::to_string(t) + " outside the vocabulary of " +
                                        std::to_string(s.vocab));
    std::FILE * f = out.empty() ? nullptr : std::fopen(out.c_str(), "wb");
    if (!out.empty() && !f) fail("cannot write " + out);
    auto write_row = [&](const float * row) {
        if (f && std::fwrite(row, sizeof(float), (size_t) s.vocab, f) != (size_t) s.vocab) fail("write failed");
    };
    s.decode(ids, 0, true);
    for (int i = 0; i < (int) ids.size(); i++) write_row(llama_get_logits_ith(s.ctx, i));
    const float * last = llama_get_logits_ith(s.ctx, -1);
    std::vector<llama_token> generated;
    for (int step = 0; step < n_gen; step++) {
        int best = 0;
        for (int v = 1; v < s.vocab; v++)
            if (last[v] > last[best]) best = v;
        generated.push_back(best);
        std::vector<llama_token> one{best};
        s.decode(one, (int) ids.size() + step, true);
        last = llama_get_logits_ith(s.ctx, -1);
        write_row(last);
    }
    if (f && std::fclose(f) != 0) fail("cannot close " + out);
    for (size_t i = 0; i < generated.size(); i++) std::printf(i ? " %d" : "%d", generated[i]);
    std::printf("\n");
    return 0;
}

int quantize(const std::string & path, const std::string & out, const std::string & type, int threads) {
    llama_model_quantize_params p = llama_model_quantize_default_params();
    if (type == "q4_k_m") p.ftype = LLAMA_FTYPE_MOSTLY_Q4_K_M;
    else if (type == "q5_k_m") p.ftype = LLAMA_FTYPE_MOSTLY_Q5_K_M;
    else if (type == "q6_k") p.ftype = LLAMA_FTYPE_MOSTLY_Q6_K;
    else if (type == "q4_k" || type == "q5_k") { // every matrix one type, as our convert --type Q4_K / Q5_K writes
        p.ftype = type == "q4_k" ? LLAMA_FTYPE_MOSTLY_Q4_K_M : LLAMA_FTYPE_MOSTLY_Q5_K_M;
        p.pure = true;
    } else fail("--type must be q4_k_m, q5_k_m, q6_k, q4_k or q5_k, got " + type);
    if (out.empty()) fail("quantize needs --out OUT.gguf");
    p.nthread = threads;
    if (llama_model_quantize(path.c_str(), out.c_str(), &p) != 0) fail("llama_model_quantize failed for " + path);
    std::printf("%s\n", out.c_str());
    return 0;
}

} // namespace

int main(int argc, char ** argv) {
    if (argc < 3) fail("usage: llama-anchor bench|batch|logits|quantize MODEL.gguf [options] (see anchor.cpp)");
    std::string mode = argv[1], path = argv[2], ids, out, type;
    int threads = 1, n_gen = 0, reps = 5, depth = 0, n_batch_seqs = 0;
    ggml_type cache = GGML_TYPE_F16;
    std::vector<int> prompts;
    for (int i = 3; i < argc; i++) {
        std::string a = argv[i];
        if (i + 1 >= argc) fail("missing value after " + a);
        const char * v = argv[++i];
        if (a == "-t") threads = int_arg(a, v);
        else if (a == "-p") {
            std::stringstream list(v);
            std::string item;
            while (std::getline(list, item, ',')) prompts.push_back(int_arg(a, item.c_str()));
        }
        else if (a == "-n" || a == "--gen") n_gen = int_arg(a, v);
        else if (a == "-r") reps = int_arg(a, v);
        else if (a == "-d") depth = int_arg(a, v);
        else if (a == "-b") n_batch_seqs = int_arg(a, v);
        else if (a == "-ctk") {
            std::string t = v;
            if (t == "f32") cache = GGML_TYPE_F32;
            else if (t == "f16") cache = GGML_TYPE_F16;
            else fail("-ctk must be f32 or f16, got " + t);
        }
        else if (a == "--ids") ids = v;
        else if (a == "--out") out = v;
        else if (a == "--type") type = v;
        else fail("unknown option " + a);
    }
    if (threads < 1) fail("-t must be at least 1");
    if (reps < 1) fail("-r must be at least 1");
    llama_log_set(quiet_log, nullptr);
    llama_backend_init();
    int rc;
    if (mode == "bench") rc = bench(path, threads, prompts, n_gen, reps, depth, cache);
    else if (mode == "batch")
        rc = batched(path, threads, n_batch_seqs, prompts.empty() ? 0 : prompts[0], n_gen, reps, cache);
    else if (mode == "logits") rc = logits(path, ids, n_gen, out, threads);
    else if (mode == "quantize") rc = quantize(path, out, type, threads);
    else fail("unknown mode " + mode + " (bench, batch, logits or quantize)");
    llama_backend_free();
    return rc;
}
