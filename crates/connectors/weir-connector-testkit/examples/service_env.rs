//! Starts a service through `scripts/services.sh` (as the tests do) and prints
//! one of its variables: `cargo run -p weir-connector-testkit --example
//! service_env -- nats WEIR_TEST_NATS_URL`.

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(service), Some(var)) = (args.next(), args.next()) else {
        eprintln!("usage: service_env SERVICE VARIABLE (e.g. nats WEIR_TEST_NATS_URL)");
        std::process::exit(2);
    };
    println!("{}", weir_connector_testkit::service(&service, &var));
}
