#!/bin/sh
# Regenerates the RSA test vectors with the openssl command-line tool (an
# implementation independent of atls's own code). Run from this directory:
#   sh gen.sh
# Outputs:
#   rsa2048.pem            RSA-2048 private key (PKCS#8, test only)
#   rsa2048_pub.pem        its SubjectPublicKeyInfo (PEM)
#   rsa2048_pub.der        the same, DER
#   message.txt            the signed message
#   rsa_pkcs1_sha256.sig   RSASSA-PKCS1-v1_5 with SHA-256 over message.txt
#   rsa_pss_sha256.sig     RSASSA-PSS, SHA-256, MGF1-SHA-256, salt length 32 (= hash length)
#   rsa_pss_sha256_maxsalt.sig  RSASSA-PSS, SHA-256, maximum salt length (222 bytes)
#   ec_p256_encrypted.pem  an EC P-256 private key encrypted with AES-256 (passphrase "test")
# PSS signatures are randomised, so regenerating changes the .sig files.
set -eu
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa2048.pem
openssl pkey -in rsa2048.pem -pubout -out rsa2048_pub.pem
openssl pkey -in rsa2048.pem -pubout -outform DER -out rsa2048_pub.der
printf 'attested TLS test message\n' > message.txt
openssl dgst -sha256 -sign rsa2048.pem -out rsa_pkcs1_sha256.sig message.txt
openssl dgst -sha256 -sign rsa2048.pem -sigopt rsa_padding_mode:pss \
  -sigopt rsa_pss_saltlen:digest -sigopt rsa_mgf1_md:sha256 -out rsa_pss_sha256.sig message.txt
openssl dgst -sha256 -sign rsa2048.pem -sigopt rsa_padding_mode:pss \
  -sigopt rsa_pss_saltlen:max -sigopt rsa_mgf1_md:sha256 -out rsa_pss_sha256_maxsalt.sig message.txt
# Cross-check with openssl itself before committing.
openssl dgst -sha256 -verify rsa2048_pub.pem -signature rsa_pkcs1_sha256.sig message.txt
openssl dgst -sha256 -verify rsa2048_pub.pem -sigopt rsa_padding_mode:pss \
  -sigopt rsa_pss_saltlen:digest -signature rsa_pss_sha256.sig message.txt
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes-256-cbc -pass pass:test \
  -out ec_p256_encrypted.pem
