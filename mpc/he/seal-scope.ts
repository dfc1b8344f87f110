// Lifetime of SEAL objects. Every Ciphertext, Plaintext, key and helper made in WebAssembly lives in memory that
// JavaScript's collector never frees; `.delete()` does. `withSealScope` hands a callback a `keep` function to register
// each object it makes and deletes them all when the callback returns or throws, so no path (an error halfway through
// a batch included) leaks one. A leak test (test/mpc/he/seal-scope.test.ts) runs ten thousand operations and checks
// that the module's memory stays flat.
type Deletable = { delete(): void; isDeleted(): boolean };

export type Keep = <T extends Deletable>(object: T) => T;

export function withSealScope<T>(run: (keep: Keep) => T): T {
  const owned: Deletable[] = [];
  const keep: Keep = (object) => {
    owned.push(object);
    return object;
  };
  try {
    return run(keep);
  } finally {
    for (let i = owned.length - 1; i >= 0; i--) {
      const object = owned[i] as Deletable;
      if (!object.isDeleted()) object.delete();
    }
  }
}
