/** Thrown by a watchdog when guest code ran past its deadline and was stopped. */
export class DeadlineExceeded extends Error {
  constructor(message = 'the function exceeded its deadline while running') {
    super(message);
    this.name = 'DeadlineExceeded';
  }
}
