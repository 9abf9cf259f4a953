"""An example for kernprof: run `kernprof -l -v examples/primes.py`."""


@profile
def is_prime(n):
    if n < 2:
        return False
    for divisor in range(2, int(n ** 0.5) + 1):
        if n % divisor == 0:
            return False
    return True


@profile
def primes_below(limit):
    found = []
    for n in range(limit):
        if is_prime(n):
            found.append(n)
    return found


def main():
    primes = primes_below(60000)
    print("%d primes below 60000, the last one %d" % (len(primes), primes[-1]))


if __name__ == "__main__":
    main()
