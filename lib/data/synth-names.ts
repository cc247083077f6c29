/**
 * Display names for synthetic identities: the paper's prompt is "This is the image of a person
 * named <name>", so every cartoon gets a plausible, distinct, made-up full name (some with
 * non-ASCII letters, so Unicode goes through the whole pipeline). Names are drawn independently of
 * the face's skin colour.
 */
import { choice, type Rng } from '../util/rng.ts';

const FEMALE = ['Alice', 'Amara', 'Ana', 'Aiko', 'Beatriz', 'Chloé', 'Dana', 'Elif', 'Emma', 'Fatima', 'Grace', 'Hana',
  'Ingrid', 'Isabel', 'Jasmine', 'Kalinda', 'Lena', 'Leila', 'Maya', 'Mei', 'Nadia', 'Ngozi', 'Olivia', 'Priya',
  'Rosa', 'Sofia', 'Tala', 'Uma', 'Valentina', 'Wanjiru', 'Yasmin', 'Zoë'];
const MALE = ['Adam', 'Ahmed', 'Björn', 'Carlos', 'Daniel', 'Diego', 'Emeka', 'Felix', 'Hiro', 'Ivan', 'Jamal', 'José',
  'Kenji', 'Kwame', 'Liam', 'Luca', 'Marek', 'Mateo', 'Noah', 'Omar', 'Pavel', 'Rafael', 'Ravi', 'Samuel', 'Søren',
  'Tariq', 'Tomás', 'Viktor', 'Wei', 'Yusuf', 'Zane', 'Arjun'];
const SURNAMES = ['Abara', 'Becker', 'Chen', 'Costa', 'Dubois', 'Eriksen', 'Fernández', 'García', 'Haddad', 'Ito',
  'Jovanović', 'Kim', 'Kowalski', 'Larsen', 'Mensah', 'Moreau', 'Müller', 'Nakamura', 'Novak', 'Okafor', "O'Brien",
  'Patel', 'Quispe', 'Rossi', 'Santos', 'Schmidt', 'Singh', 'Tanaka', 'Umarov', 'Van Dijk', 'Wójcik', 'Yilmaz'];

/**
 * A full name whose first name and surname are both unused so far. Once either list runs out
 * (more than 32 people of a gender, or 32 in all), names reuse parts but stay distinct as full
 * names, as in a real office with two Patels; "Person k" only when every pairing is taken.
 */
export function pickName(rng: Rng, gender: 'female' | 'male', used: Set<string>): string {
  const all = gender === 'female' ? FEMALE : MALE;
  const firsts = all.filter((n) => !used.has(n));
  const lasts = SURNAMES.filter((n) => !used.has(n));
  if (firsts.length > 0 && lasts.length > 0) {
    const first = choice(rng, firsts), last = choice(rng, lasts);
    used.add(first).add(last).add(`${first} ${last}`);
    return `${first} ${last}`;
  }
  const free = all.flatMap((f) => SURNAMES.map((l) => `${f} ${l}`)).filter((n) => !used.has(n));
  if (free.length > 0) {
    const name = choice(rng, free);
    used.add(name);
    return name;
  }
  let k = 1;
  while (used.has(`Person ${k}`)) k++;
  used.add(`Person ${k}`);
  return `Person ${k}`;
}
