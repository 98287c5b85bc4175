#!/usr/bin/python3
# SPDX-License-Identifier: BSL-1.0
"""RSA-OAEP interop between tlvcast's RSA backends (through rsa_tool) and Python's cryptography.

Usage: test_rsa_interop.py --tool PATH/rsa_tool [--backends cryptopp,openssl] [unittest options]
Exit status 0 when every test passes.
"""
import argparse
import hashlib
import os
import stat
import subprocess
import sys
import tempfile
import unittest

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

TOOL = None
BACKENDS = ["cryptopp"]

OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
SIZES = (0, 1, 100, 189, 190)


def spki_pem(public_key):
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def spki_der(public_key):
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def plaintext(n):
    return bytes((i * 37 + n) & 0xFF for i in range(n))


class RsaInterop(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # One Python key for the whole run: key generation is the slow part.
        cls.py_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def setUp(self):
        self._dir = tempfile.TemporaryDirectory(prefix="tlvcast-interop-")
        self.dir = self._dir.name

    def tearDown(self):
        self._dir.cleanup()

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, data):
        p = self.path(name)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def read(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()

    def tool(self, backend, *args, expect_ok=True):
        r = subprocess.run([TOOL, "--backend", backend, *args], capture_output=True, timeout=120)
        if expect_ok:
            self.assertEqual(r.returncode, 0, f"rsa_tool {args} failed: {r.stderr.decode(errors='replace')}")
        return r

    def write_py_key(self, fmt=serialization.PrivateFormat.PKCS8):
        return self.write("py_priv.pem", self.py_key.private_bytes(
            serialization.Encoding.PEM, fmt, serialization.NoEncryption()))

    def test_python_key_loads_in_cpp(self):
        expected = spki_pem(self.py_key.public_key())
        for backend in BACKENDS:
            for fmt in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL):
                with self.subTest(backend=backend, fmt=fmt.name):
                    priv = self.write_py_key(fmt)
                    self.tool(backend, "pubpem", priv, self.path("pub.pem"))
                    self.assertEqual(self.read("pub.pem"), expected)
            with self.subTest(backend=backend, what="public import/export"):
                pub = self.write("py_pub.pem", expected)
                self.tool(backend, "import", pub, self.path("re.pem"))
                self.assertEqual(self.read("re.pem"), expected)
                fp = self.tool(backend, "fingerprint", pub).stdout.decode().strip()
                self.assertEqual(fp, hashlib.sha256(spki_der(self.py_key.public_key())).hexdigest())

    def test_cpp_key_loads_in_python(self):
        for backend in BACKENDS:
            with self.subTest(backend=backend):
                priv = self.path(f"{backend}_priv.pem")
                self.tool(backend, "genkey", priv)
                self.assertEqual(stat.S_IMODE(os.stat(priv).st_mode), 0o600)
                # A key file is never overwritten: a second genkey to the same path fails, the key stays.
                before = self.read(f"{backend}_priv.pem")
                r = self.tool(backend, "genkey", priv, expect_ok=False)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn(b"never replaced", r.stderr)
                self.assertEqual(self.read(f"{backend}_priv.pem"), before)
                with open(priv, "rb") as f:
                    pem = f.read()
                self.assertTrue(pem.startswith(b"-----BEGIN PRIVATE KEY-----\n"))
                key = serialization.load_pem_private_key(pem, password=None)
                self.assertIsInstance(key, rsa.RSAPrivateKey)
                self.assertEqual(key.key_size, 2048)
                self.assertEqual(key.public_key().public_numbers().e, 65537)
                self.tool(backend, "pubpem", priv, self.path("pub.pem"))
                # The C++ export is byte-identical to Python's for the same key.
                self.assertEqual(self.read("pub.pem"), spki_pem(key.public_key()))
                loaded = serialization.load_pem_public_key(self.read("pub.pem"))
                self.assertEqual(loaded.public_numbers(), key.public_key().public_numbers())

    def test_python_encrypts_cpp_decrypts(self):
        priv = self.write_py_key()
        for backend in BACKENDS:
            for n in SIZES:
                with self.subTest(backend=backend, size=n):
                    msg = plaintext(n)
                    cipher = self.write("c.bin", self.py_key.public_key().encrypt(msg, OAEP))
                    self.tool(backend, "decrypt", priv, cipher, self.path("p.bin"))
                    self.assertEqual(self.read("p.bin"), msg)
            with self.subTest(backend=backend, what="corrupted block"):
                c = bytearray(self.py_key.public_key().encrypt(b"hello", OAEP))
                c[100] ^= 0x01
                r = self.tool(backend, "decrypt", priv, self.write("bad.bin", bytes(c)), self.path("p.bin"),
                              expect_ok=False)
                self.assertEqual(r.returncode, 1)
                self.assertIn(b"decryption failed", r.stderr)

    def test_cpp_encrypts_python_decrypts(self):
        pub = self.write("py_pub.pem", spki_pem(self.py_key.public_key()))
        for backend in BACKENDS:
            for n in SIZES:
                with self.subTest(backend=backend, size=n):
                    msg = plaintext(n)
                    self.tool(backend, "encrypt", pub, self.write("p.bin", msg), self.path("c.bin"))
                    cipher = self.read("c.bin")
                    self.assertEqual(len(cipher), 256)
                    self.assertEqual(self.py_key.decrypt(cipher, OAEP), msg)
            with self.subTest(backend=backend, size=191):
                r = self.tool(backend, "encrypt", pub, self.write("p.bin", plaintext(191)), self.path("c.bin"),
                              expect_ok=False)
                self.assertEqual(r.returncode, 1)
                self.assertIn(b"too large", r.stderr)

    def test_cpp_key_round_trip_through_python(self):
        # A C++ key, used by Python to encrypt and re-serialized by Python, decrypts in C++.
        for backend in BACKENDS:
            with self.subTest(backend=backend):
                priv = self.path(f"{backend}_round_trip.pem")
                self.tool(backend, "genkey", priv)
                with open(priv, "rb") as f:
                    key = serialization.load_pem_private_key(f.read(), password=None)
                cipher = self.write("c.bin", key.public_key().encrypt(b"CONNECT", OAEP))
                self.tool(backend, "decrypt", priv, cipher, self.path("p.bin"))
                self.assertEqual(self.read("p.bin"), b"CONNECT")
                py_pkcs1 = self.write("pkcs1.pem", key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                    serialization.NoEncryption()))
                self.tool(backend, "decrypt", py_pkcs1, cipher, self.path("p2.bin"))
                self.assertEqual(self.read("p2.bin"), b"CONNECT")

    def test_cpp_refuses_keys_python_can_make(self):
        small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        ec_key = ec.generate_private_key(ec.SECP256R1())
        cases = {
            "rsa1024": spki_pem(small.public_key()),
            "ec-p256": spki_pem(ec_key.public_key()),
            "pkcs1-public": self.py_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.PKCS1),
            "pkcs1-body-as-spki": b"-----BEGIN PUBLIC KEY-----" + self.py_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)[30:-29] + b"-----END PUBLIC KEY-----\n",
            "garbage": b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        }
        for backend in BACKENDS:
            for name, pem in cases.items():
                with self.subTest(backend=backend, key=name):
                    r = self.tool(backend, "import", self.write("k.pem", pem), self.path("o.pem"), expect_ok=False)
                    self.assertEqual(r.returncode, 1)
                    self.assertIn(b"invalid key", r.stderr)
            with self.subTest(backend=backend, key="encrypted private"):
                enc = self.write("enc.pem", self.py_key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                    serialization.BestAvailableEncryption(b"secret")))
                r = self.tool(backend, "pubpem", enc, self.path("o.pem"), expect_ok=False)
                self.assertEqual(r.returncode, 1)

    def test_backends_agree(self):
        if len(BACKENDS) < 2:
            self.skipTest("only one backend built")
        # A key from each backend, used by the other: same PEM, decrypts each other's blocks.
        for maker in BACKENDS:
            user = next(b for b in BACKENDS if b != maker)
            with self.subTest(maker=maker, user=user):
                priv = self.path(f"{maker}.pem")
                self.tool(maker, "genkey", priv)
                self.tool(maker, "pubpem", priv, self.path("a.pem"))
                self.tool(user, "pubpem", priv, self.path("b.pem"))
                self.assertEqual(self.read("a.pem"), self.read("b.pem"))
                self.tool(maker, "encrypt", self.path("a.pem"), self.write("p.bin", b"x" * 190), self.path("c.bin"))
                self.tool(user, "decrypt", priv, self.path("c.bin"), self.path("d.bin"))
                self.assertEqual(self.read("d.bin"), b"x" * 190)


def main():
    global TOOL, BACKENDS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tool", required=True, help="path of the rsa_tool program")
    parser.add_argument("--backends", default="cryptopp", help="comma-separated backends to test")
    args, rest = parser.parse_known_args()
    TOOL = args.tool
    BACKENDS = [b for b in args.backends.split(",") if b]
    if not os.access(TOOL, os.X_OK):
        print(f"rsa_tool not found or not executable: {TOOL}", file=sys.stderr)
        return 2
    result = unittest.main(argv=[sys.argv[0], *rest], exit=False, verbosity=2).result
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
