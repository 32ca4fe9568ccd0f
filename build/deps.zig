//! The four vendored C libraries, built from vendor/src/ (see vendor/manifest) with their
//! own quieter flags. mbedTLS uses our config header build/mbedtls_config.h.
const std = @import("std");

pub const Vendored = struct {
    mbedtls: *std.Build.Step.Compile,
    zstd: *std.Build.Step.Compile,
    cjson: *std.Build.Step.Compile,
    csv: *std.Build.Step.Compile,
    csv_dir: std.Build.LazyPath,

    pub fn addIncludes(v: Vendored, b: *std.Build, m: *std.Build.Module) void {
        m.addIncludePath(b.path("vendor/src/mbedtls/include"));
        m.addIncludePath(b.path("build"));
        m.addCMacro("MBEDTLS_CONFIG_FILE", "\"metronome_mbedtls_config.h\"");
        m.addIncludePath(b.path("vendor/src/zstd/lib"));
        m.addIncludePath(b.path("vendor/src/cjson"));
        m.addIncludePath(v.csv_dir);
    }
};

fn libcsvDir(b: *std.Build) std.Build.LazyPath {
    const dir = b.option([]const u8, "libcsv-src", "folder with libcsv.c and csv.h to link instead of vendor/src/libcsv") orelse
        return b.path("vendor/src/libcsv");
    return .{ .cwd_relative = dir };
}

const vendor_cflags = [_][]const u8{ "-std=c99", "-w", "-fno-sanitize=undefined", "-D_GNU_SOURCE" };

fn lib(b: *std.Build, target: std.Build.ResolvedTarget, optimize: std.builtin.Optimize, name: []const u8) *std.Build.Step.Compile {
    const m = b.createModule(.{ .target = target, .optimize = optimize, .link_libc = true });
    return b.addLibrary(.{ .name = name, .root_module = m });
}

pub fn addZstd(b: *std.Build, target: std.Build.ResolvedTarget, optimize: std.builtin.Optimize, name: []const u8) *std.Build.Step.Compile {
    const l = lib(b, target, optimize, name);
    const m = l.root_module;
    // Portable C only: the x86_64 Huffman assembly is not worth a per-target source list.
    m.addCMacro("ZSTD_DISABLE_ASM", "1");
    m.addCMacro("ZSTD_MULTITHREAD", "1");
    m.addCMacro("XXH_NAMESPACE", "ZSTD_");
    m.addIncludePath(b.path("vendor/src/zstd/lib"));
    m.addCSourceFiles(.{ .root = b.path("vendor/src/zstd/lib"), .files = &zstd_files, .flags = &vendor_cflags });
    return l;
}

pub fn addVendored(b: *std.Build, target: std.Build.ResolvedTarget, optimize: std.builtin.Optimize) Vendored {
    const mbed = lib(b, target, optimize, "mbedtls");
    mbed.root_module.addIncludePath(b.path("vendor/src/mbedtls/include"));
    mbed.root_module.addIncludePath(b.path("vendor/src/mbedtls/library"));
    mbed.root_module.addIncludePath(b.path("build"));
    mbed.root_module.addCMacro("MBEDTLS_CONFIG_FILE", "\"metronome_mbedtls_config.h\"");
    mbed.root_module.addCSourceFiles(.{ .root = b.path("vendor/src/mbedtls/library"), .files = &mbedtls_files, .flags = &vendor_cflags });

    const cj = lib(b, target, optimize, "cjson");
    cj.root_module.addCSourceFiles(.{ .root = b.path("vendor/src/cjson"), .files = &.{"cJSON.c"}, .flags = &vendor_cflags });

    // LGPL relinking (THIRD_PARTY_NOTICES.md): any libcsv source tree can replace ours.
    const csv_dir = libcsvDir(b);
    const csv = lib(b, target, optimize, "csv");
    csv.root_module.addCSourceFiles(.{ .root = csv_dir, .files = &.{"libcsv.c"}, .flags = &vendor_cflags });

    return .{ .mbedtls = mbed, .zstd = addZstd(b, target, optimize, "zstd"), .cjson = cj, .csv = csv, .csv_dir = csv_dir };
}

const zstd_files = [_][]const u8{
    "common/debug.c",                   "common/entropy_common.c",          "common/error_private.c",
    "common/fse_decompress.c",          "common/pool.c",                    "common/threading.c",
    "common/xxhash.c",                  "common/zstd_common.c",             "compress/fse_compress.c",
    "compress/hist.c",                  "compress/huf_compress.c",          "compress/zstd_compress.c",
    "compress/zstd_compress_literals.c", "compress/zstd_compress_sequences.c", "compress/zstd_compress_superblock.c",
    "compress/zstd_double_fast.c",      "compress/zstd_fast.c",             "compress/zstd_lazy.c",
    "compress/zstd_ldm.c",              "compress/zstd_opt.c",              "compress/zstd_preSplit.c",
    "compress/zstdmt_compress.c",       "decompress/huf_decompress.c",      "decompress/zstd_ddict.c",
    "decompress/zstd_decompress.c",     "decompress/zstd_decompress_block.c",
};

/// What a TLS 1.2/1.3 client and server with ECDSA/RSA certificates need, plus
/// certificate writing for the mock's --tls-self-signed.
const mbedtls_files = [_][]const u8{
    "aes.c",                   "aesni.c",                 "aesce.c",
    "asn1parse.c",             "asn1write.c",             "base64.c",
    "bignum.c",                "bignum_core.c",           "block_cipher.c",
    "chacha20.c",              "chachapoly.c",            "cipher.c",
    "cipher_wrap.c",           "constant_time.c",         "ctr_drbg.c",
    "ecdh.c",                  "ecdsa.c",                 "ecp.c",
    "ecp_curves.c",            "entropy.c",               "entropy_poll.c",
    "error.c",                 "gcm.c",                   "hkdf.c",
    "hmac_drbg.c",             "md.c",                    "oid.c",
    "pem.c",                   "pk.c",                    "pk_ecc.c",
    "pk_wrap.c",               "pkparse.c",               "pkwrite.c",
    "platform.c",              "platform_util.c",         "poly1305.c",
    "psa_crypto.c",            "psa_crypto_aead.c",       "psa_crypto_cipher.c",
    "psa_crypto_client.c",     "psa_crypto_driver_wrappers_no_static.c", "psa_crypto_ecp.c",
    "psa_crypto_ffdh.c",       "psa_crypto_hash.c",       "psa_crypto_mac.c",
    "psa_crypto_pake.c",       "psa_crypto_random.c",     "psa_crypto_rsa.c",
    "psa_crypto_se.c",         "psa_crypto_slot_management.c", "psa_crypto_storage.c",
    "psa_util.c",              "rsa.c",                   "rsa_alt_helpers.c",
    "sha1.c",                  "sha256.c",                "sha512.c",
    "sha3.c",                  "ssl_cache.c",             "ssl_ciphersuites.c",
    "ssl_client.c",            "ssl_debug_helpers_generated.c", "ssl_msg.c",
    "ssl_ticket.c",            "ssl_tls.c",               "ssl_tls12_client.c",
    "ssl_tls12_server.c",      "ssl_tls13_client.c",      "ssl_tls13_generic.c",
    "ssl_tls13_keys.c",        "ssl_tls13_server.c",      "threading.c",
    "version.c",               "x509.c",                  "x509_create.c",
    "x509_crt.c",              "x509write.c",             "x509write_crt.c",
    "x509_crl.c",              "dhm.c",                   "md5.c",
};
