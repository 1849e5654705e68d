// What a password must be to be set through the API (the first admin's comes hashed from the Secret).

export const passwordPolicy = { minLength: 12, maxLength: 72, minCharacterClasses: 3 };

/** Each rule the password breaks, in words a user can act on; empty when it is acceptable. */
export function passwordProblems(password: string, username: string): string[] {
  const problems: string[] = [];
  if (password.length < passwordPolicy.minLength) problems.push(`must be at least ${passwordPolicy.minLength} characters`);
  // bcrypt only reads the first 72 bytes: a longer password would silently match any suffix.
  if (Buffer.byteLength(password) > passwordPolicy.maxLength) problems.push(`must be at most ${passwordPolicy.maxLength} bytes`);
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^a-zA-Z0-9]/].filter((re) => re.test(password)).length;
  if (classes < passwordPolicy.minCharacterClasses) problems.push("must mix at least three of: lowercase, uppercase, digits, symbols");
  if (username.length >= 3 && password.toLowerCase().includes(username.toLowerCase())) problems.push("must not contain the username");
  return problems;
}
